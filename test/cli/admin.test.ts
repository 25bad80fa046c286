import { expect } from 'chai';
import {
  AdminError,
  createUserRecord,
  findUser,
  getUser,
  listUsers,
  removeUser,
  resetUserTwoFactor,
  unlockUser,
  setUserPassword,
  verifyUserEmail,
  type AdminDeps,
} from '../../server/accounts/admin.js';
import { createPasswordHasher, passwordDigest } from '../../server/security/password-hasher.js';
import { ValidationError } from '../../server/accounts/validation.js';
import { ManualClock } from '../../server/runtime/clock.js';
import { createMemoryStore } from '../../server/storage/memory/index.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const POLICY = { maxFailures: 5, baseLockMs: 60_000, maxLockMs: 3_600_000, decayMs: 3_600_000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return expect.fail('expected a rejection');
}

async function adminError(promise: Promise<unknown>): Promise<AdminError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(AdminError);
  return err as AdminError;
}

describe('accounts/admin', () => {
  let deps: AdminDeps;

  beforeEach(() => {
    deps = { store: createMemoryStore(), hasher: createPasswordHasher({ cost: 4, size: 1 }), clock: new ManualClock(T0) };
  });
  afterEach(async () => {
    await deps.hasher.close();
    await deps.store.close();
  });

  async function addToken(userId: string, hashedToken: string): Promise<void> {
    await deps.store.loginTokens.insert({ hashedToken, userId, createdAt: new Date(T0), expiresAt: null });
  }

  describe('createUserRecord', () => {
    it('stores bcrypt(sha256(password)), the email with its flag and the clock time', async () => {
      const user = await createUserRecord(deps, { username: 'alice', email: 'Alice@Example.COM', password: 'pw', verified: true });
      expect(user.username).to.equal('alice');
      expect(user.emails).to.deep.equal([{ address: 'Alice@example.com', verified: true }]);
      expect(user.createdAt.getTime()).to.equal(T0);
      expect(await deps.hasher.compare(passwordDigest('pw'), user.passwordHash ?? '')).to.equal(true);
      expect(await deps.hasher.compare(passwordDigest('other'), user.passwordHash ?? '')).to.equal(false);
    });

    it('creates users without email or password, emails unverified by default', async () => {
      const bare = await createUserRecord(deps, { username: 'bare' });
      expect(bare.emails).to.deep.equal([]);
      expect(bare.passwordHash).to.equal(null);
      const bob = await createUserRecord(deps, { username: 'bob', email: 'bob@example.com' });
      expect(bob.emails[0]?.verified).to.equal(false);
    });

    it('validates before storing', async () => {
      expect(await rejection(createUserRecord(deps, { username: 'a b' }))).to.be.instanceOf(ValidationError);
      expect(await rejection(createUserRecord(deps, { username: 'ab', email: 'nope' }))).to.be.instanceOf(ValidationError);
      expect(await rejection(createUserRecord(deps, { username: 'ab', password: '' }))).to.be.instanceOf(ValidationError);
      expect(await deps.store.users.list()).to.deep.equal([]);
    });

    it('reports a taken username or email, case-insensitively, with exit code 4', async () => {
      await createUserRecord(deps, { username: 'alice', email: 'alice@example.com' });
      const name = await adminError(createUserRecord(deps, { username: 'ALICE', email: 'other@example.com' }));
      expect(name.code).to.equal('username-taken');
      expect(name.exitCode).to.equal(4);
      expect(name.message).to.equal("username 'ALICE' is taken");
      const email = await adminError(createUserRecord(deps, { username: 'bob', email: 'ALICE@example.com' }));
      expect(email.code).to.equal('email-taken');
      expect(email.message).to.equal("email 'ALICE@example.com' is already used");
    });

    it('maps a conflict the store detects (a race past the pre-check) to the same error', async () => {
      await createUserRecord(deps, { username: 'alice' });
      const findByUsername = deps.store.users.findByUsername;
      deps.store.users.findByUsername = async () => null; // as if the other request had not committed yet
      try {
        expect((await adminError(createUserRecord(deps, { username: 'alice' }))).code).to.equal('username-taken');
      } finally {
        deps.store.users.findByUsername = findByUsername;
      }
    });
  });

  describe('findUser / getUser', () => {
    it('finds by username, by email when the text has "@", and by id', async () => {
      const alice = await createUserRecord(deps, { username: 'alice', email: 'alice@example.com' });
      expect((await findUser(deps.store, 'Alice'))?.id).to.equal(alice.id);
      expect((await findUser(deps.store, 'ALICE@example.com'))?.id).to.equal(alice.id);
      expect((await findUser(deps.store, { id: alice.id }))?.username).to.equal('alice');
      expect(await findUser(deps.store, 'nobody')).to.equal(null);
    });

    it("getUser throws \"no user 'x'\" with exit code 3", async () => {
      const err = await adminError(getUser(deps.store, 'nobody'));
      expect(err.message).to.equal("no user 'nobody'");
      expect(err.code).to.equal('user-not-found');
      expect(err.exitCode).to.equal(3);
    });
  });

  describe('setUserPassword', () => {
    it('changes the hash and signs out every session, or every other one', async () => {
      const alice = await createUserRecord(deps, { username: 'alice', password: 'old' });
      await addToken(alice.id, 't1');
      await addToken(alice.id, 't2');
      await addToken(alice.id, 't3');
      const change = await setUserPassword(deps, 'alice', 'new', { keepHashedToken: 't2' });
      expect(change.tokensRemoved).to.equal(2);
      expect(await deps.store.loginTokens.find('t2')).to.not.equal(null);
      const stored = await deps.store.users.findById(alice.id);
      expect(await deps.hasher.compare(passwordDigest('new'), stored?.passwordHash ?? '')).to.equal(true);
      expect((await setUserPassword(deps, { id: alice.id }, 'newer')).tokensRemoved).to.equal(1);
    });

    it('removes pending password-reset tokens', async () => {
      const alice = await createUserRecord(deps, { username: 'alice' });
      const now = new Date(T0);
      await deps.store.codes.put({ userId: alice.id, purpose: 'reset-password', codeHash: 'h', createdAt: now, expiresAt: new Date(T0 + 60_000), data: null });
      await setUserPassword(deps, 'alice', 'pw');
      expect(await deps.store.codes.findActive(alice.id, 'reset-password', now)).to.equal(null);
    });

    it('rejects a bad password and an unknown user', async () => {
      await createUserRecord(deps, { username: 'alice' });
      expect(await rejection(setUserPassword(deps, 'alice', ''))).to.be.instanceOf(ValidationError);
      expect((await adminError(setUserPassword(deps, 'bob', 'pw'))).exitCode).to.equal(3);
    });
  });

  describe('verifyUserEmail', () => {
    it('verifies one address, the address the user was named by, or all of them', async () => {
      const u = await deps.store.users.create({
        username: 'multi',
        emails: [
          { address: 'a@example.com', verified: false },
          { address: 'b@example.com', verified: false },
        ],
        passwordHash: null,
      });
      expect(await verifyUserEmail(deps, 'multi', 'B@example.com')).to.deep.equal(['b@example.com']);
      expect((await deps.store.users.findById(u.id))?.emails.map((e) => e.verified)).to.deep.equal([false, true]);
      await deps.store.users.setEmailVerified(u.id, 'b@example.com', false);
      expect(await verifyUserEmail(deps, 'a@example.com')).to.deep.equal(['a@example.com']);
      expect((await deps.store.users.findById(u.id))?.emails.map((e) => e.verified)).to.deep.equal([true, false]);
      expect(await verifyUserEmail(deps, 'multi')).to.deep.equal(['a@example.com', 'b@example.com']);
      expect((await deps.store.users.findById(u.id))?.emails.map((e) => e.verified)).to.deep.equal([true, true]);
    });

    it('reports an address the user does not have, or a user without any', async () => {
      await createUserRecord(deps, { username: 'alice', email: 'alice@example.com' });
      await createUserRecord(deps, { username: 'bare' });
      const other = await adminError(verifyUserEmail(deps, 'alice', 'x@example.com'));
      expect(other.code).to.equal('email-not-found');
      expect(other.message).to.equal("user 'alice' has no email 'x@example.com'");
      expect((await adminError(verifyUserEmail(deps, 'bare'))).message).to.equal("user 'bare' has no email address");
    });
  });

  describe('removeUser and listUsers', () => {
    it('lists users oldest first without secrets, with their 2FA state', async () => {
      const alice = await createUserRecord(deps, { username: 'alice', email: 'alice@example.com', password: 'pw', verified: true });
      await createUserRecord(deps, { username: 'bob' });
      await deps.store.twoFactor.setEmailEnabled(alice.id, true);
      const users = await listUsers(deps);
      expect(users.map((u) => u.username)).to.deep.equal(['alice', 'bob']);
      expect(users[0]).to.deep.include({ hasPassword: true, twoFactor: { totp: false, email: true, backupCodesRemaining: 0, passkeys: 0 } });
      expect(users[1]?.hasPassword).to.equal(false);
      expect(JSON.stringify(users)).to.not.contain('$2');
    });

    it('removes a user and their tokens', async () => {
      const alice = await createUserRecord(deps, { username: 'alice' });
      await addToken(alice.id, 't1');
      expect((await removeUser(deps, 'alice')).id).to.equal(alice.id);
      expect(await deps.store.users.findById(alice.id)).to.equal(null);
      expect(await deps.store.loginTokens.find('t1')).to.equal(null);
      expect((await adminError(removeUser(deps, 'alice'))).code).to.equal('user-not-found');
    });
  });

  describe('resetUserTwoFactor', () => {
    it('turns off TOTP, backup codes and email codes, clears lock-outs and audits who did it', async () => {
      const alice = await createUserRecord(deps, { username: 'alice', email: 'alice@example.com' });
      const { store } = deps;
      const now = new Date(T0);
      await store.twoFactor.setPendingTotpSecret(alice.id, 'ciphertext');
      expect(await store.twoFactor.enableTotp(alice.id, ['b1', 'b2'])).to.equal(true);
      await store.twoFactor.setEmailEnabled(alice.id, true);
      await store.codes.put({ userId: alice.id, purpose: 'email-2fa', codeHash: 'c', createdAt: now, expiresAt: new Date(T0 + 60_000), data: null });
      for (const factor of ['totp', 'email', 'password', 'backup']) {
        for (let i = 0; i < 5; i++) await store.attempts.recordFailure(alice.id, factor, now, POLICY);
      }
      expect((await store.attempts.get(alice.id, 'totp', now)).lockedUntil).to.not.equal(null);

      const reset = await resetUserTwoFactor(deps, 'alice@example.com', 'root');
      expect(reset).to.deep.include({ wasTotpEnabled: true, wasEmailEnabled: true });

      const state = await store.twoFactor.get(alice.id);
      expect(state).to.deep.include({ totpEnabled: false, totpSecret: null, emailEnabled: false, backupCodesRemaining: 0 });
      expect(await store.codes.findActive(alice.id, 'email-2fa', now)).to.equal(null);
      for (const factor of ['totp', 'email', 'password', 'backup']) {
        expect(await store.attempts.get(alice.id, factor, now)).to.deep.equal({ failures: 0, lockedUntil: null, lockCount: 0, decayFrom: null });
      }
      const audit = await store.audit.list({ userId: alice.id });
      expect(audit).to.have.length(1);
      expect(audit[0]).to.deep.include({ action: '2fa.reset', userId: alice.id, clientAddress: null, userAgent: 'cli', details: { by: 'root' } });
      expect(audit[0]?.at.getTime()).to.equal(T0);
    });

    it('unlock clears every counter of the user (factors and passwords from any address) and audits who did it', async () => {
      const alice = await createUserRecord(deps, { username: 'alice', email: 'alice@example.com' });
      const { store } = deps;
      const now = new Date(T0);
      for (const factor of ['totp', 'password', 'password@k1']) {
        for (let i = 0; i < 5; i++) await store.attempts.recordFailure(alice.id, factor, now, POLICY);
      }
      expect((await store.attempts.get(alice.id, 'password@k1', now)).lockedUntil).to.not.equal(null);
      const { countersCleared } = await unlockUser(deps, 'alice', 'root');
      expect(countersCleared).to.equal(3);
      for (const factor of ['totp', 'password', 'password@k1']) expect((await store.attempts.get(alice.id, factor, now)).lockedUntil).to.equal(null);
      const [entry] = await store.audit.list({ userId: alice.id });
      expect(entry).to.deep.include({ action: 'account.unlocked', userAgent: 'cli', details: { by: 'root', countersCleared: 3 } });
    });

    it('records another origin when given, and rejects an unknown user', async () => {
      const bob = await createUserRecord(deps, { username: 'bob' });
      await resetUserTwoFactor(deps, 'bob', 'admin-id', { clientAddress: '10.0.0.1', userAgent: 'Mozilla/5.0' });
      const [entry] = await deps.store.audit.list({ userId: bob.id });
      expect(entry).to.deep.include({ clientAddress: '10.0.0.1', userAgent: 'Mozilla/5.0' });
      expect((await adminError(resetUserTwoFactor(deps, 'nobody', 'root'))).exitCode).to.equal(3);
    });
  });
});
