/**
 * Contract tests: `LoginTokenStore` and `PersonalTokenStore`.
 */
import { expect } from 'chai';
import type { PersonalTokenRecord } from '../../server/storage/contract.js';
import { StoreConflictError, StoreNotFoundError } from '../../server/storage/store-errors.js';
import { at, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

/** Defines the `loginTokens` tests. */
export function loginTokenContract(store: StoreGetter): void {
  describe('loginTokens', () => {
    it('stores a token without trust and finds it by hash', async () => {
      const u = await makeUser(store(), 'ann');
      await store().loginTokens.insert({ hashedToken: 'h1', userId: u.id, createdAt: T0, expiresAt: at(1000) });
      await store().loginTokens.insert({ hashedToken: 'h2', userId: u.id, createdAt: T0, expiresAt: null });
      expect(await store().loginTokens.find('h1')).to.deep.equal({
        hashedToken: 'h1', userId: u.id, createdAt: T0, expiresAt: at(1000), trust: null,
        lastUsedAt: null, clientAddress: null, userAgent: null,
      });
      expect((await store().loginTokens.find('h2'))?.expiresAt).to.equal(null);
      expect(await store().loginTokens.find('h3')).to.equal(null);
    });

    it('keeps where a token was issued, lists a user\'s tokens oldest first, and records each use', async () => {
      const u = await makeUser(store(), 'uma');
      const o = await makeUser(store(), 'oli');
      await store().loginTokens.insert({ hashedToken: 'late', userId: u.id, createdAt: at(200), expiresAt: null });
      await store().loginTokens.insert({
        hashedToken: 'early', userId: u.id, createdAt: at(100), expiresAt: at(9000),
        lastUsedAt: at(100), clientAddress: '192.0.2.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
      });
      await store().loginTokens.insert({ hashedToken: 'same-a', userId: u.id, createdAt: at(300), expiresAt: null });
      await store().loginTokens.insert({ hashedToken: 'same-b', userId: u.id, createdAt: at(300), expiresAt: null });
      await store().loginTokens.insert({ hashedToken: 'other', userId: o.id, createdAt: at(50), expiresAt: null });
      const list = await store().loginTokens.listForUser(u.id);
      expect(list.map((t) => t.hashedToken)).to.deep.equal(['early', 'late', 'same-a', 'same-b']);
      expect(list[0]).to.deep.include({ lastUsedAt: at(100), clientAddress: '192.0.2.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', expiresAt: at(9000) });
      expect(list[1]).to.deep.include({ lastUsedAt: null, clientAddress: null, userAgent: null });
      expect(await store().loginTokens.listForUser('nobody')).to.deep.equal([]);

      expect(await store().loginTokens.touch('late', { at: at(500), clientAddress: '198.51.100.9', userAgent: 'curl/8' })).to.equal(true);
      expect(await store().loginTokens.find('late')).to.deep.include({ lastUsedAt: at(500), clientAddress: '198.51.100.9', userAgent: 'curl/8', createdAt: at(200) });
      expect(await store().loginTokens.touch('late', { at: at(600), clientAddress: null, userAgent: null })).to.equal(true);
      expect(await store().loginTokens.find('late')).to.deep.include({ lastUsedAt: at(600), clientAddress: null, userAgent: null });
      expect(await store().loginTokens.touch('ghost', { at: at(600), clientAddress: null, userAgent: null })).to.equal(false);
      // A copy: changing it changes nothing stored.
      list[0]!.clientAddress = 'changed';
      expect((await store().loginTokens.find('early'))?.clientAddress).to.equal('192.0.2.1');
    });

    it('rejects an unknown user and a duplicate hash', async () => {
      const u = await makeUser(store(), 'ben');
      const err = await rejection(store().loginTokens.insert({ hashedToken: 'x', userId: 'ghost', createdAt: T0, expiresAt: null }));
      expect(err).to.be.instanceOf(StoreNotFoundError);
      expect(await store().loginTokens.find('x')).to.equal(null);
      await store().loginTokens.insert({ hashedToken: 'dup', userId: u.id, createdAt: T0, expiresAt: null });
      const dup = await rejection(store().loginTokens.insert({ hashedToken: 'dup', userId: u.id, createdAt: at(5), expiresAt: null }));
      expect(dup).to.be.instanceOf(StoreConflictError);
      expect((dup as StoreConflictError).field).to.equal('token');
      expect((await store().loginTokens.find('dup'))?.createdAt).to.deep.equal(T0);
    });

    it('returns an expired token: the caller decides what expiry means', async () => {
      const u = await makeUser(store(), 'cat');
      await store().loginTokens.insert({ hashedToken: 'old', userId: u.id, createdAt: T0, expiresAt: T0 });
      expect((await store().loginTokens.find('old'))?.expiresAt).to.deep.equal(T0);
    });

    it('removes one token', async () => {
      const u = await makeUser(store(), 'dan');
      await store().loginTokens.insert({ hashedToken: 'h', userId: u.id, createdAt: T0, expiresAt: null });
      expect(await store().loginTokens.remove('h')).to.equal(true);
      expect(await store().loginTokens.find('h')).to.equal(null);
      expect(await store().loginTokens.remove('h')).to.equal(false);
    });

    it("removes a user's tokens, optionally but one", async () => {
      const u = await makeUser(store(), 'eve');
      const o = await makeUser(store(), 'fay');
      for (const h of ['a', 'b', 'c']) {
        await store().loginTokens.insert({ hashedToken: h, userId: u.id, createdAt: T0, expiresAt: null });
      }
      await store().loginTokens.insert({ hashedToken: 'o', userId: o.id, createdAt: T0, expiresAt: null });
      expect(await store().loginTokens.removeForUser(u.id, 'b')).to.equal(2);
      expect(await store().loginTokens.find('a')).to.equal(null);
      expect(await store().loginTokens.find('b')).to.not.equal(null);
      expect(await store().loginTokens.find('o')).to.not.equal(null);
      expect(await store().loginTokens.removeForUser(u.id)).to.equal(1);
      expect(await store().loginTokens.find('b')).to.equal(null);
      expect(await store().loginTokens.find('o')).to.not.equal(null);
    });

    it('removes expired tokens (expiresAt <= now), never the ones without expiry', async () => {
      const u = await makeUser(store(), 'gus');
      await store().loginTokens.insert({ hashedToken: 'past', userId: u.id, createdAt: T0, expiresAt: at(-1) });
      await store().loginTokens.insert({ hashedToken: 'edge', userId: u.id, createdAt: T0, expiresAt: T0 });
      await store().loginTokens.insert({ hashedToken: 'future', userId: u.id, createdAt: T0, expiresAt: at(1) });
      await store().loginTokens.insert({ hashedToken: 'forever', userId: u.id, createdAt: T0, expiresAt: null });
      expect(await store().loginTokens.removeExpired(T0)).to.equal(2);
      expect(await store().loginTokens.find('past')).to.equal(null);
      expect(await store().loginTokens.find('edge')).to.equal(null);
      expect(await store().loginTokens.find('future')).to.not.equal(null);
      expect(await store().loginTokens.find('forever')).to.not.equal(null);
    });

    it('sets and clears the trusted-client mark', async () => {
      const u = await makeUser(store(), 'hal');
      await store().loginTokens.insert({ hashedToken: 'h', userId: u.id, createdAt: T0, expiresAt: null });
      expect(await store().loginTokens.setTrust('h', { fingerprint: 'fp', until: at(300_000) })).to.equal(true);
      expect((await store().loginTokens.find('h'))?.trust).to.deep.equal({ fingerprint: 'fp', until: at(300_000) });
      expect(await store().loginTokens.setTrust('h', null)).to.equal(true);
      expect((await store().loginTokens.find('h'))?.trust).to.equal(null);
      expect(await store().loginTokens.setTrust('missing', { fingerprint: 'fp', until: T0 })).to.equal(false);
    });
  });
}

const token = (userId: string, name: string, hashedToken: string, createdAt = T0): PersonalTokenRecord => ({
  hashedToken, userId, name, bypassTwoFactor: name.startsWith('bypass'), createdAt, lastUsedAt: null,
});

/** Defines the `personalTokens` tests. */
export function personalTokenContract(store: StoreGetter): void {
  describe('personalTokens', () => {
    it('stores a token and finds it by hash and by name', async () => {
      const u = await makeUser(store(), 'ida');
      const rec = token(u.id, 'bypass-ci', 'p1');
      await store().personalTokens.insert(rec);
      expect(await store().personalTokens.find('p1')).to.deep.equal(rec);
      expect(await store().personalTokens.findByName(u.id, 'bypass-ci')).to.deep.equal(rec);
      expect(await store().personalTokens.findByName(u.id, 'other')).to.equal(null);
      expect(await store().personalTokens.find('p2')).to.equal(null);
    });

    it('rejects a second token of the same name for a user, not for another user', async () => {
      const u = await makeUser(store(), 'jon');
      const o = await makeUser(store(), 'kay');
      await store().personalTokens.insert(token(u.id, 'ci', 'p1'));
      const err = await rejection(store().personalTokens.insert(token(u.id, 'ci', 'p2')));
      expect(err).to.be.instanceOf(StoreConflictError);
      expect((err as StoreConflictError).field).to.equal('name');
      expect(await store().personalTokens.find('p2')).to.equal(null);
      await store().personalTokens.insert(token(o.id, 'ci', 'p3'));
      expect((await store().personalTokens.find('p3'))?.userId).to.equal(o.id);
    });

    it('rejects an unknown user', async () => {
      expect(await rejection(store().personalTokens.insert(token('ghost', 'ci', 'p')))).to.be.instanceOf(StoreNotFoundError);
    });

    it("lists a user's tokens oldest first", async () => {
      const u = await makeUser(store(), 'lou');
      const o = await makeUser(store(), 'max');
      await store().personalTokens.insert(token(u.id, 'b', 'pb', at(2000)));
      await store().personalTokens.insert(token(u.id, 'a', 'pa', at(1000)));
      await store().personalTokens.insert(token(u.id, 'c', 'pc', at(3000)));
      await store().personalTokens.insert(token(o.id, 'z', 'pz', at(0)));
      expect((await store().personalTokens.list(u.id)).map((t) => t.name)).to.deep.equal(['a', 'b', 'c']);
      expect(await store().personalTokens.list('nobody')).to.deep.equal([]);
    });

    it('regenerates a token: new hash and date, same name and bypass flag', async () => {
      const u = await makeUser(store(), 'ned');
      await store().personalTokens.insert(token(u.id, 'bypass-bot', 'old'));
      await store().personalTokens.touch('old', at(10));
      expect(await store().personalTokens.replace(u.id, 'bypass-bot', 'new', at(5000))).to.equal(true);
      expect(await store().personalTokens.find('old')).to.equal(null);
      expect(await store().personalTokens.find('new')).to.deep.equal({
        hashedToken: 'new', userId: u.id, name: 'bypass-bot', bypassTwoFactor: true, createdAt: at(5000), lastUsedAt: null,
      });
      expect(await store().personalTokens.replace(u.id, 'missing', 'x', at(1))).to.equal(false);
      expect(await store().personalTokens.find('x')).to.equal(null);
    });

    it('removes a token by name', async () => {
      const u = await makeUser(store(), 'oli');
      await store().personalTokens.insert(token(u.id, 'ci', 'p1'));
      expect(await store().personalTokens.remove(u.id, 'ci')).to.equal(true);
      expect(await store().personalTokens.find('p1')).to.equal(null);
      expect(await store().personalTokens.remove(u.id, 'ci')).to.equal(false);
    });

    it('records the last use', async () => {
      const u = await makeUser(store(), 'pam');
      await store().personalTokens.insert(token(u.id, 'ci', 'p1'));
      expect(await store().personalTokens.touch('p1', at(42))).to.equal(true);
      expect((await store().personalTokens.find('p1'))?.lastUsedAt).to.deep.equal(at(42));
      expect(await store().personalTokens.touch('nope', at(42))).to.equal(false);
    });
  });
}
