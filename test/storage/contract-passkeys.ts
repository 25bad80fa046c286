/**
 * Contract tests: `PasskeyStore` (counter compare-and-set under concurrency) and
 * `WebAuthnChallengeStore` (single use, binding, expiry).
 */
import { expect } from 'chai';
import type { PasskeyRecord, WebAuthnChallengeRecord } from '../../server/storage/contract.js';
import { StoreConflictError, StoreNotFoundError } from '../../server/storage/store-errors.js';
import { at, countWinners, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

const passkey = (userId: string, id: string, name = 'laptop', counter = 0, createdAt = T0): PasskeyRecord => ({
  id, userId, name, publicKey: `pk-${id}`, counter, transports: ['internal', 'hybrid'], backedUp: true, createdAt, lastUsedAt: null,
});

const challenge = (c: string, rest: Partial<WebAuthnChallengeRecord> = {}): WebAuthnChallengeRecord => ({
  challenge: c, ceremony: 'second-factor', userId: null, binding: null, createdAt: T0, expiresAt: at(300_000), ...rest,
});

/** Defines the `passkeys` and `webauthnChallenges` tests. */
export function passkeyContract(store: StoreGetter): void {
  describe('passkeys', () => {
    it('stores, finds, lists oldest first, renames and removes only the owner\'s passkey', async () => {
      const u = await makeUser(store(), 'ada');
      const o = await makeUser(store(), 'bo');
      const first = passkey(u.id, 'cred-1', 'phone', 0, T0);
      await store().passkeys.insert(first);
      await store().passkeys.insert(passkey(u.id, 'cred-2', 'key', 5, at(10)));
      await store().passkeys.insert(passkey(o.id, 'cred-3'));
      expect(await store().passkeys.find('cred-1')).to.deep.equal(first);
      expect(await store().passkeys.find('nope')).to.equal(null);
      expect((await store().passkeys.list(u.id)).map((p) => p.id)).to.deep.equal(['cred-1', 'cred-2']);
      expect(await store().passkeys.rename(o.id, 'cred-1', 'stolen')).to.equal(false);
      expect(await store().passkeys.rename(u.id, 'cred-1', 'work phone')).to.equal(true);
      expect((await store().passkeys.find('cred-1'))?.name).to.equal('work phone');
      expect(await store().passkeys.remove(o.id, 'cred-1')).to.equal(false);
      expect(await store().passkeys.remove(u.id, 'cred-1')).to.equal(true);
      expect(await store().passkeys.remove(u.id, 'cred-1')).to.equal(false);
      expect((await store().passkeys.list(u.id)).map((p) => p.id)).to.deep.equal(['cred-2']);
    });

    it('refuses a credential id stored already (another user\'s too) and an unknown user', async () => {
      const u = await makeUser(store(), 'cy');
      const o = await makeUser(store(), 'di');
      await store().passkeys.insert(passkey(u.id, 'same'));
      const err = await rejection(store().passkeys.insert(passkey(o.id, 'same')));
      expect(err).to.be.instanceOf(StoreConflictError);
      expect((err as StoreConflictError).field).to.equal('credential');
      expect(await rejection(store().passkeys.insert(passkey('ghost', 'x')))).to.be.instanceOf(StoreNotFoundError);
    });

    it('records a use only when the counter grows (or stays 0 for counterless authenticators)', async () => {
      const u = await makeUser(store(), 'ed');
      const o = await makeUser(store(), 'flo');
      await store().passkeys.insert(passkey(u.id, 'c', 'k', 10));
      await store().passkeys.insert(passkey(u.id, 'zero', 'z', 0));
      expect(await store().passkeys.recordUse(u.id, 'c', 11, at(5))).to.equal('ok');
      const after = await store().passkeys.find('c');
      expect(after?.counter).to.equal(11);
      expect(after?.lastUsedAt?.getTime()).to.equal(at(5).getTime());
      expect(await store().passkeys.recordUse(u.id, 'c', 11, at(6))).to.equal('regressed');
      expect(await store().passkeys.recordUse(u.id, 'c', 3, at(6))).to.equal('regressed');
      expect((await store().passkeys.find('c'))?.counter).to.equal(11);
      expect(await store().passkeys.recordUse(o.id, 'c', 99, at(6))).to.equal('missing');
      expect(await store().passkeys.recordUse(u.id, 'zero', 0, at(7))).to.equal('ok');
      expect(await store().passkeys.recordUse(u.id, 'zero', 0, at(8))).to.equal('ok');
    });

    it('lets exactly one of concurrent uses with the same counter through', async () => {
      const u = await makeUser(store(), 'gus');
      await store().passkeys.insert(passkey(u.id, 'c', 'k', 1));
      expect(await countWinners(8, async () => (await store().passkeys.recordUse(u.id, 'c', 2, at(1))) === 'ok')).to.equal(1);
    });

    it('goes with its user: removeForUser and removing the user', async () => {
      const u = await makeUser(store(), 'hal');
      const o = await makeUser(store(), 'ivy');
      await store().passkeys.insert(passkey(u.id, 'a'));
      await store().passkeys.insert(passkey(u.id, 'b'));
      await store().passkeys.insert(passkey(o.id, 'c'));
      expect(await store().passkeys.removeForUser(u.id)).to.equal(2);
      expect(await store().passkeys.list(u.id)).to.deep.equal([]);
      await store().users.remove(o.id);
      expect(await store().passkeys.find('c')).to.equal(null);
    });
  });

  describe('webauthn challenges', () => {
    it('hands a challenge out once, to its user and ceremony only', async () => {
      const u = await makeUser(store(), 'jo');
      const o = await makeUser(store(), 'kai');
      const rec = challenge('ch-1', { userId: u.id });
      await store().webauthnChallenges.put(rec);
      const mine = { userId: u.id, binding: null };
      expect(await store().webauthnChallenges.consume('ch-1', 'second-factor', { userId: o.id, binding: null }, at(1))).to.equal(null);
      expect(await store().webauthnChallenges.consume('ch-1', 'registration', mine, at(1))).to.equal(null);
      expect(await store().webauthnChallenges.consume('ch-1', 'second-factor', { userId: null, binding: null }, at(1))).to.equal(null);
      expect(await store().webauthnChallenges.consume('ch-1', 'second-factor', mine, at(1))).to.deep.equal(rec);
      expect(await store().webauthnChallenges.consume('ch-1', 'second-factor', mine, at(1))).to.equal(null);
    });

    it('binds a sign-in challenge to its caller', async () => {
      const rec = challenge('ch-2', { ceremony: 'sign-in', binding: 'conn-a' });
      await store().webauthnChallenges.put(rec);
      expect(await store().webauthnChallenges.consume('ch-2', 'sign-in', { userId: null, binding: 'conn-b' }, at(1))).to.equal(null);
      expect(await store().webauthnChallenges.consume('ch-2', 'sign-in', { userId: null, binding: 'conn-a' }, at(1))).to.deep.equal(rec);
    });

    it('never hands out an expired challenge, and removes expired ones', async () => {
      const u = await makeUser(store(), 'lu');
      await store().webauthnChallenges.put(challenge('old', { userId: u.id, expiresAt: at(1000) }));
      await store().webauthnChallenges.put(challenge('new', { userId: u.id, expiresAt: at(5000) }));
      expect(await store().webauthnChallenges.consume('old', 'second-factor', { userId: u.id, binding: null }, at(1000))).to.equal(null);
      expect(await store().webauthnChallenges.removeExpired(at(1000))).to.equal(1);
      expect(await store().webauthnChallenges.consume('new', 'second-factor', { userId: u.id, binding: null }, at(4999))).to.not.equal(null);
    });

    it('gives a challenge to one of concurrent consumers, and goes with its user', async () => {
      const u = await makeUser(store(), 'mo');
      await store().webauthnChallenges.put(challenge('race', { userId: u.id }));
      expect(await countWinners(8, async () => (await store().webauthnChallenges.consume('race', 'second-factor', { userId: u.id, binding: null }, at(1))) !== null)).to.equal(1);
      await store().webauthnChallenges.put(challenge('gone', { userId: u.id }));
      await store().users.remove(u.id);
      expect(await store().webauthnChallenges.removeExpired(at(10_000_000))).to.equal(0);
      expect(await rejection(store().webauthnChallenges.put(challenge('x', { userId: 'ghost' })))).to.be.instanceOf(StoreNotFoundError);
    });
  });
}
