/**
 * Contract tests: `AttemptStore` (the doubling lock-out) and `AuditStore`.
 */
import { expect } from 'chai';
import type { AttemptState } from '../../server/storage/contract.js';
import { StoreNotFoundError } from '../../server/storage/errors.js';
import { at, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

const MIN = 60_000;
/** Spec defaults, with a cap low enough to reach in a test. */
const POLICY = { maxFailures: 5, baseLockMs: MIN, maxLockMs: 5 * MIN };

/** Defines the `attempts` tests. */
export function attemptContract(store: StoreGetter): void {
  describe('attempts', () => {
    const failTimes = async (userId: string, n: number, now: Date): Promise<AttemptState> => {
      let s: AttemptState = { failures: 0, lockedUntil: null, lockCount: 0 };
      for (let i = 0; i < n; i++) s = await store().attempts.recordFailure(userId, 'totp', now, POLICY);
      return s;
    };

    it('starts at zero', async () => {
      const u = await makeUser(store(), 'al');
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal({ failures: 0, lockedUntil: null, lockCount: 0 });
    });

    it('counts failures below the limit without locking', async () => {
      const u = await makeUser(store(), 'bj');
      expect(await failTimes(u.id, 4, T0)).to.deep.equal({ failures: 4, lockedUntil: null, lockCount: 0 });
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal({ failures: 4, lockedUntil: null, lockCount: 0 });
    });

    it('locks for 60 s, 120 s, 240 s… capped at maxLockMs', async () => {
      const u = await makeUser(store(), 'cb');
      let now = T0;
      const expected = [1, 2, 4, 5, 5].map((m) => m * MIN);
      for (const [i, lockMs] of expected.entries()) {
        const s = await failTimes(u.id, 5, now);
        expect(s, `lock-out #${i + 1}`).to.deep.equal({
          failures: 0, lockedUntil: new Date(now.getTime() + lockMs), lockCount: i + 1,
        });
        // Locked until the last millisecond, free from lockedUntil on; lockCount remembered.
        expect((await store().attempts.get(u.id, 'totp', new Date(now.getTime() + lockMs - 1))).lockedUntil)
          .to.deep.equal(new Date(now.getTime() + lockMs));
        now = new Date(now.getTime() + lockMs);
        expect(await store().attempts.get(u.id, 'totp', now)).to.deep.equal({ failures: 0, lockedUntil: null, lockCount: i + 1 });
      }
    });

    it('resets on success: the next lock-out is back to 60 s', async () => {
      const u = await makeUser(store(), 'dd');
      await failTimes(u.id, 10, T0);
      expect((await store().attempts.get(u.id, 'totp', T0)).lockCount).to.equal(2);
      await store().attempts.reset(u.id, 'totp');
      expect(await store().attempts.get(u.id, 'totp', T0)).to.deep.equal({ failures: 0, lockedUntil: null, lockCount: 0 });
      expect((await failTimes(u.id, 5, at(1))).lockedUntil).to.deep.equal(at(1 + MIN));
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

    it('loses no count under 20 concurrent failures', async () => {
      const u = await makeUser(store(), 'gg');
      const policy = { ...POLICY, maxFailures: 100 };
      await Promise.all(Array.from({ length: 20 }, () => store().attempts.recordFailure(u.id, 'totp', T0, policy)));
      expect((await store().attempts.get(u.id, 'totp', T0)).failures).to.equal(20);
    });

    it('locks exactly once when concurrent failures cross the limit', async () => {
      const u = await makeUser(store(), 'hh');
      const states = await Promise.all(
        Array.from({ length: 5 }, () => store().attempts.recordFailure(u.id, 'totp', T0, POLICY)),
      );
      expect(states.filter((s) => s.lockedUntil !== null)).to.have.length(1);
      expect((await store().attempts.get(u.id, 'totp', T0)).lockCount).to.equal(1);
    });

    it('rejects a failure for an unknown user', async () => {
      expect(await rejection(store().attempts.recordFailure('ghost', 'totp', T0, POLICY))).to.be.instanceOf(StoreNotFoundError);
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
  });
}
