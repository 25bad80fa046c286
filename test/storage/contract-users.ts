/**
 * Contract tests: `UserStore`, including the cascade of `remove`.
 */
import { expect } from 'chai';
import { StoreConflictError } from '../../server/storage/store-errors.js';
import { ID_ALPHABET } from '../../server/storage/ids.js';
import { at, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

const POLICY = { maxFailures: 3, baseLockMs: 60_000, maxLockMs: 3_600_000, decayMs: 3_600_000 };

/** Defines the `users` tests. */
export function userContract(store: StoreGetter): void {
  describe('users', () => {
    it('creates a user with a 17-character Meteor-style id', async () => {
      const u = await store().users.create({
        username: 'Alice',
        emails: [
          { address: 'Alice@Example.com', verified: false },
          { address: 'alice@work.example', verified: true },
        ],
        passwordHash: 'bcrypt-hash',
        profile: { name: 'Alice A.', langs: ['en', 'fr'] },
      });
      expect(u.id).to.have.length(17);
      for (const ch of u.id) expect(ID_ALPHABET).to.include(ch);
      expect(u.username).to.equal('Alice');
      expect(u.emails).to.deep.equal([
        { address: 'Alice@Example.com', verified: false },
        { address: 'alice@work.example', verified: true },
      ]);
      expect(u.passwordHash).to.equal('bcrypt-hash');
      expect(u.createdAt).to.be.instanceOf(Date);
      expect(Math.abs(u.createdAt.getTime() - Date.now())).to.be.below(10_000);
      expect(await store().users.findById(u.id)).to.deep.equal(u);
    });

    it('gives every user a different id', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await makeUser(store(), `user${i}`)).id);
      expect(ids.size).to.equal(20);
    });

    it('keeps an explicit createdAt and a null password hash; profile is optional', async () => {
      const u = await store().users.create({ username: 'bob', emails: [], passwordHash: null, createdAt: T0 });
      const found = await store().users.findById(u.id);
      expect(found?.createdAt.getTime()).to.equal(T0.getTime());
      expect(found?.passwordHash).to.equal(null);
      expect(found?.emails).to.deep.equal([]);
      expect(found).to.not.have.property('profile');
    });

    it('finds by username and email case-insensitively, null when unknown', async () => {
      const u = await makeUser(store(), 'Carol');
      expect((await store().users.findByUsername('cAROL'))?.id).to.equal(u.id);
      expect((await store().users.findByEmail('CAROL@EXAMPLE.COM'))?.id).to.equal(u.id);
      expect(await store().users.findByUsername('carol2')).to.equal(null);
      expect(await store().users.findByEmail('nobody@example.com')).to.equal(null);
      expect(await store().users.findById('nope')).to.equal(null);
    });

    it('rejects a username differing only in case, and creates nothing', async () => {
      await makeUser(store(), 'dave');
      const err = await rejection(
        store().users.create({ username: 'DAVE', emails: [{ address: 'other@example.com', verified: false }], passwordHash: null }),
      );
      expect(err).to.be.instanceOf(StoreConflictError);
      expect((err as StoreConflictError).field).to.equal('username');
      expect(await store().users.list()).to.have.length(1);
      expect(await store().users.findByEmail('other@example.com')).to.equal(null);
    });

    it('rejects an email differing only in case, without taking the username', async () => {
      await makeUser(store(), 'erin');
      const err = await rejection(
        store().users.create({ username: 'frank', emails: [{ address: 'ERIN@example.com', verified: true }], passwordHash: null }),
      );
      expect(err).to.be.instanceOf(StoreConflictError);
      expect((err as StoreConflictError).field).to.equal('email');
      expect(await store().users.findByUsername('frank')).to.equal(null);
      const frank = await makeUser(store(), 'frank');
      expect(frank.username).to.equal('frank');
    });

    it('rejects the same address twice in one user', async () => {
      const err = await rejection(
        store().users.create({
          username: 'gina',
          emails: [{ address: 'g@example.com', verified: true }, { address: 'G@example.com', verified: false }],
          passwordHash: null,
        }),
      );
      expect((err as StoreConflictError).field).to.equal('email');
      expect(await store().users.findByUsername('gina')).to.equal(null);
    });

    it('lists users oldest first', async () => {
      const b = await store().users.create({ username: 'b', emails: [], passwordHash: null, createdAt: at(2000) });
      const a = await store().users.create({ username: 'a', emails: [], passwordHash: null, createdAt: at(1000) });
      const c = await store().users.create({ username: 'c', emails: [], passwordHash: null, createdAt: at(3000) });
      expect((await store().users.list()).map((u) => u.id)).to.deep.equal([a.id, b.id, c.id]);
    });

    it('hands out copies: changing a returned record changes nothing stored', async () => {
      const u = await makeUser(store(), 'hank');
      u.emails[0]!.verified = false;
      u.username = 'mutated';
      const again = await store().users.findById(u.id);
      expect(again?.emails[0]?.verified).to.equal(true);
      expect(again?.username).to.equal('hank');
    });

    it('sets the password hash', async () => {
      const u = await makeUser(store(), 'ivy');
      expect(await store().users.setPasswordHash(u.id, 'new-hash')).to.equal(true);
      expect((await store().users.findById(u.id))?.passwordHash).to.equal('new-hash');
      expect(await store().users.setPasswordHash(u.id, null)).to.equal(true);
      expect((await store().users.findById(u.id))?.passwordHash).to.equal(null);
      expect(await store().users.setPasswordHash('unknown', 'x')).to.equal(false);
    });

    it('sets an email verified flag by address, case-insensitively', async () => {
      const u = await store().users.create({
        username: 'jack',
        emails: [{ address: 'one@example.com', verified: false }, { address: 'two@example.com', verified: false }],
        passwordHash: null,
      });
      expect(await store().users.setEmailVerified(u.id, 'TWO@example.com', true)).to.equal(true);
      expect((await store().users.findById(u.id))?.emails).to.deep.equal([
        { address: 'one@example.com', verified: false },
        { address: 'two@example.com', verified: true },
      ]);
      expect(await store().users.setEmailVerified(u.id, 'three@example.com', true)).to.equal(false);
      expect(await store().users.setEmailVerified('unknown', 'one@example.com', true)).to.equal(false);
      const other = await makeUser(store(), 'kim');
      // An address of another user is unknown for this one.
      expect(await store().users.setEmailVerified(other.id, 'one@example.com', true)).to.equal(false);
    });

    it('removes a user with everything that belongs to them, and only that', async () => {
      const s = store();
      const u = await makeUser(s, 'leo');
      const keep = await makeUser(s, 'mia');
      for (const owner of [u, keep]) {
        await s.loginTokens.insert({ hashedToken: `lt-${owner.id}`, userId: owner.id, createdAt: T0, expiresAt: null });
        await s.personalTokens.insert({
          hashedToken: `pt-${owner.id}`, userId: owner.id, name: 'bot', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null,
        });
        await s.twoFactor.setPendingTotpSecret(owner.id, 'cipher');
        await s.twoFactor.enableTotp(owner.id, ['b1', 'b2']);
        await s.twoFactor.setEmailEnabled(owner.id, true);
        await s.codes.put({ userId: owner.id, purpose: 'email-2fa', codeHash: `c-${owner.id}`, createdAt: T0, expiresAt: at(600_000), data: null });
        await s.attempts.recordFailure(owner.id, 'totp', T0, POLICY);
        await s.audit.append({ at: T0, userId: owner.id, action: 'totp-enabled', clientAddress: null, userAgent: null, details: null });
      }

      expect(await s.users.remove(u.id)).to.equal(true);

      expect(await s.users.findById(u.id)).to.equal(null);
      expect(await s.users.findByUsername('leo')).to.equal(null);
      expect(await s.users.findByEmail('leo@example.com')).to.equal(null);
      expect(await s.loginTokens.find(`lt-${u.id}`)).to.equal(null);
      expect(await s.personalTokens.find(`pt-${u.id}`)).to.equal(null);
      const tf = await s.twoFactor.get(u.id);
      expect(tf.totpEnabled).to.equal(false);
      expect(tf.emailEnabled).to.equal(false);
      expect(tf.backupCodesRemaining).to.equal(0);
      expect(await s.codes.findActive(u.id, 'email-2fa', T0)).to.equal(null);
      expect((await s.attempts.get(u.id, 'totp', T0)).failures).to.equal(0);
      // The audit trail outlives the account.
      expect(await s.audit.list({ userId: u.id })).to.have.length(1);

      expect(await s.loginTokens.find(`lt-${keep.id}`)).to.not.equal(null);
      expect(await s.personalTokens.find(`pt-${keep.id}`)).to.not.equal(null);
      expect((await s.twoFactor.get(keep.id)).backupCodesRemaining).to.equal(2);
      expect(await s.codes.findActive(keep.id, 'email-2fa', T0)).to.not.equal(null);
      expect((await s.attempts.get(keep.id, 'totp', T0)).failures).to.equal(1);

      // The username and address are free again.
      expect((await makeUser(s, 'LEO')).username).to.equal('LEO');
      expect(await s.users.remove(u.id)).to.equal(false);
    });
  });
}
