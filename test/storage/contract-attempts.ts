/**
 * Contract tests: `AttemptStore` (the doubling lock-out) and `AuditStore`.
 */
import { expect } from 'chai';
import type { AttemptState } from '../../server/storage/contract.js';
import { StoreNotFoundError } from '../../server/storage/store-errors.js';
import { at, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Spec defaults, with a cap low enough to reach in a test and one failure forgiven per hour. */
const POLICY = { maxFailures: 5, baseLockMs: MIN, maxLockMs: 5 * MIN, decayMs: HOUR };
const NONE: AttemptState = { failures: 0, lockedUntil: null, lockCount: 0, decayFrom: null };

/** Defines the `attempts` tests. */
export function attemptContract(store: StoreGetter): void {
  describe('attempts', () => {
    const failTimes = async (userId: string, n: number, now: Date, factor = 'totp'): Promise<AttemptState> => {
      let s: AttemptState = NONE;
      for (let i = 0; i < n; i++) s = await store().attempts.recordFailure(userId, factor, now, POLICY);
      return s;
    };

    it('starts at zero', async () => {
      const u = await makeUser(store(), 'al');
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal(NONE);
    });

    it('counts failures below the limit without locking, decaying from the first', async () => {
      const u = await makeUser(store(), 'bj');
      expect(await failTimes(u.id, 4, T0)).to.deep.equal({ failures: 4, lockedUntil: null, lockCount: 0, decayFrom: T0 });
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal({ failures: 4, lockedUntil: null, lockCount: 0, decayFrom: T0 });
    });

    it('locks at the 5th failure for 60 s, and each further one doubles it up to maxLockMs', async () => {
      const u = await makeUser(store(), 'cb');
      await failTimes(u.id, 4, T0);
      let now = T0;
      const expected = [1, 2, 4, 5, 5].map((m) => m * MIN);
      for (const [i, lockMs] of expected.entries()) {
        const s = await store().attempts.recordFailure(u.id, 'totp', now, POLICY);
        expect(s, `failure #${i + 5}`).to.deep.equal({
          failures: 5 + i, lockedUntil: new Date(now.getTime() + lockMs), lockCount: i + 1, decayFrom: T0,
        });
        // Locked until the last millisecond, free from lockedUntil on; the debt remembered.
        expect((await store().attempts.get(u.id, 'totp', new Date(now.getTime() + lockMs - 1))).lockedUntil)
          .to.deep.equal(new Date(now.getTime() + lockMs));
        now = new Date(now.getTime() + lockMs);
        expect(await store().attempts.get(u.id, 'totp', now)).to.deep.equal({ failures: 5 + i, lockedUntil: null, lockCount: i + 1, decayFrom: T0 });
      }
    });

    it('forgives one failure per decayMs, keeping the remainder; a fully forgiven counter starts over', async () => {
      const u = await makeUser(store(), 'dd');
      await failTimes(u.id, 6, T0); // locked twice: 5th and 6th failure
      // 2.5 hours later: two forgiven, so the next failure is the 5th again (60 s), decay counted from T0 + 2 h.
      const later = at(2.5 * HOUR);
      expect(await store().attempts.recordFailure(u.id, 'totp', later, POLICY)).to.deep.equal({
        failures: 5, lockedUntil: new Date(later.getTime() + MIN), lockCount: 3, decayFrom: at(2 * HOUR),
      });
      // Five hours after that, everything is forgiven: the next failure is the first again.
      const muchLater = at(8 * HOUR);
      expect(await store().attempts.recordFailure(u.id, 'totp', muchLater, POLICY)).to.deep.equal({
        failures: 1, lockedUntil: null, lockCount: 0, decayFrom: muchLater,
      });
    });

    it('reset clears one counter; removeForUser clears them all', async () => {
      const u = await makeUser(store(), 'ed');
      await failTimes(u.id, 3, T0, 'totp');
      await failTimes(u.id, 2, T0, 'password@k1');
      await failTimes(u.id, 1, T0, 'email');
      await store().attempts.reset(u.id, 'email');
      expect(await store().attempts.get(u.id, 'email', T0)).to.deep.equal(NONE);
      expect((await store().attempts.get(u.id, 'totp', T0)).failures).to.equal(3);
      expect(await store().attempts.removeForUser(u.id)).to.equal(2);
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal(NONE);
      expect(await store().attempts.get(u.id, 'password@k1', T0)).to.deep.equal(NONE);
    });

    it('counts per user and per factor', async () => {
      const a = await makeUser(store(), 'ee');
      const b = await makeUser(store(), 'ff');
      await store().attempts.recordFailure(a.id, 'totp', T0, POLICY);
      await store().attempts.recordFailure(a.id, 'totp', T0, POLICY);
      await store().attempts.recordFailure(a.id, 'email', T0, POLICY);
      expect((await store().attempts.get(a.id, 'totp', T0)).failures).to.equal(2);
      expect((await store().attempts.get(a.id, 'email', T0)).failures).to.equal(1);
      expect((await store().attempts.get(b.id, 'totp', T0)).failures).to.equal(0);
      await store().attempts.reset(a.id, 'email');
      expect((await store().attempts.get(a.id, 'totp', T0)).failures).to.equal(2);
    });

    it('loses no count under 20 failures (started together; a real race only where the calls overlap: PostgreSQL, and SQLite in sqlite-race.test.ts)', async () => {
      const u = await makeUser(store(), 'gg');
      const policy = { ...POLICY, maxFailures: 100 };
      await Promise.all(Array.from({ length: 20 }, () => store().attempts.recordFailure(u.id, 'totp', T0, policy)));
      expect((await store().attempts.get(u.id, 'totp', T0)).failures).to.equal(20);
    });

    it('rejects a failure for an unknown user', async () => {
      expect(await rejection(store().attempts.recordFailure('ghost', 'totp', T0, POLICY))).to.be.instanceOf(StoreNotFoundError);
    });
  });

  describe('address attempts', () => {
    it('counts per address key with the same schedule, and forgets idle counters', async () => {
      const addr = store().addressAttempts;
      expect(await addr.get('k1', T0)).to.deep.equal(NONE);
      for (let i = 0; i < 4; i++) await addr.recordFailure('k1', T0, POLICY);
      await addr.recordFailure('k2', at(10 * HOUR), POLICY);
      expect(await addr.recordFailure('k1', T0, POLICY)).to.deep.equal({ failures: 5, lockedUntil: at(MIN), lockCount: 1, decayFrom: T0 });
      expect((await addr.get('k2', T0)).failures).to.equal(1);
      // k1's last failure and lock-out are before 1 h; k2's are not.
      expect(await addr.removeIdle(at(HOUR))).to.equal(1);
      expect(await addr.get('k1', T0)).to.deep.equal(NONE);
      await addr.reset('k2');
      expect(await addr.get('k2', T0)).to.deep.equal(NONE);
    });
  });

  describe('known addresses', () => {
    it('remembers the latest success per user and address, and goes with the user', async () => {
      const u = await makeUser(store(), 'ka');
      const other = await makeUser(store(), 'kb');
      expect(await store().knownAddresses.lastSuccess(u.id, 'k1')).to.equal(null);
      await store().knownAddresses.remember(u.id, 'k1', at(5_000));
      await store().knownAddresses.remember(u.id, 'k1', at(1_000));
      expect(await store().knownAddresses.lastSuccess(u.id, 'k1')).to.deep.equal(at(5_000));
      expect(await store().knownAddresses.lastSuccess(other.id, 'k1')).to.equal(null);
      expect(await rejection(store().knownAddresses.remember('ghost', 'k1', T0))).to.be.instanceOf(StoreNotFoundError);
      await store().users.remove(u.id);
      expect(await store().knownAddresses.lastSuccess(u.id, 'k1')).to.equal(null);
    });
  });
}

/** Defines the `audit` tests. */
export function auditContract(store: StoreGetter): void {
  describe('audit', () => {
    const entry = (action: string, when: Date, userId: string | null = 'u1') => ({
      at: when, userId, action, clientAddress: '10.0.0.1', userAgent: 'test/1.0', details: { n: action },
    });

    it('keeps every field and gives each entry its own id', async () => {
      await store().audit.append({
        at: T0, userId: 'u1', action: 'totp-enabled', clientAddress: '192.0.2.7', userAgent: 'Mozilla/5.0',
        details: { method: '2fa:enable', nested: { ok: true } },
      });
      await store().audit.append({ at: T0, userId: null, action: 'anon', clientAddress: null, userAgent: null, details: null });
      const [a, b] = await store().audit.list({});
      expect(a).to.deep.include({
        at: T0, userId: 'u1', action: 'totp-enabled', clientAddress: '192.0.2.7', userAgent: 'Mozilla/5.0',
        details: { method: '2fa:enable', nested: { ok: true } },
      });
      expect(b).to.deep.include({ userId: null, action: 'anon', clientAddress: null, userAgent: null, details: null });
      expect(a!.id).to.not.equal(b!.id);
    });

    it('lists oldest first, ties in insertion order', async () => {
      await store().audit.append(entry('third', at(300)));
      await store().audit.append(entry('first', at(100)));
      await store().audit.append(entry('second-a', at(200)));
      await store().audit.append(entry('second-b', at(200)));
      expect((await store().audit.list({})).map((r) => r.action)).to.deep.equal(['first', 'second-a', 'second-b', 'third']);
    });

    it('filters by user, since (inclusive) and limit (the oldest matches)', async () => {
      await store().audit.append(entry('a1', at(100), 'a'));
      await store().audit.append(entry('b1', at(150), 'b'));
      await store().audit.append(entry('a2', at(200), 'a'));
      await store().audit.append(entry('a3', at(300), 'a'));
      await store().audit.append(entry('anon', at(400), null));
      const actions = async (q: Parameters<ReturnType<StoreGetter>['audit']['list']>[0]) =>
        (await store().audit.list(q)).map((r) => r.action);
      expect(await actions({ userId: 'a' })).to.deep.equal(['a1', 'a2', 'a3']);
      expect(await actions({ since: at(200) })).to.deep.equal(['a2', 'a3', 'anon']);
      expect(await actions({ limit: 2 })).to.deep.equal(['a1', 'b1']);
      expect(await actions({ userId: 'a', since: at(150), limit: 1 })).to.deep.equal(['a2']);
      expect(await actions({ limit: 0 })).to.deep.equal([]);
      expect(await actions({ userId: 'nobody' })).to.deep.equal([]);
    });

    it('lists newest first (ties: the later written first) and pages with offset and limit', async () => {
      await store().audit.append(entry('a1', at(100), 'a'));
      await store().audit.append(entry('b1', at(150), 'b'));
      await store().audit.append(entry('a2-x', at(200), 'a'));
      await store().audit.append(entry('a2-y', at(200), 'a'));
      await store().audit.append(entry('a3', at(300), 'a'));
      const actions = async (q: Parameters<ReturnType<StoreGetter>['audit']['list']>[0]) =>
        (await store().audit.list(q)).map((r) => r.action);
      expect(await actions({ userId: 'a', newestFirst: true })).to.deep.equal(['a3', 'a2-y', 'a2-x', 'a1']);
      expect(await actions({ userId: 'a', newestFirst: true, limit: 2 })).to.deep.equal(['a3', 'a2-y']);
      expect(await actions({ userId: 'a', newestFirst: true, limit: 2, offset: 2 })).to.deep.equal(['a2-x', 'a1']);
      expect(await actions({ userId: 'a', newestFirst: true, limit: 2, offset: 4 })).to.deep.equal([]);
      expect(await actions({ newestFirst: true, offset: 3 })).to.deep.equal(['b1', 'a1']);
      expect(await actions({ offset: 1, limit: 1 })).to.deep.equal(['b1']);
      expect(await actions({ userId: 'a', since: at(200), newestFirst: true, offset: 1 })).to.deep.equal(['a2-y', 'a2-x']);
    });
  });
}
