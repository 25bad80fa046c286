/**
 * The lock-out schedule, shared by every store so it is identical whatever the backend.
 *
 * Failures are a debt: the one that brings it to `maxFailures` locks for `baseLockMs`, and each
 * further failure while the debt lasts doubles the lock-out (up to `maxLockMs`). Time alone
 * pays the debt off, one failure per `decayMs`; a success does not. So whatever the owner does,
 * an attacker gets at most `maxFailures − 1 + log2(maxLockMs / baseLockMs) + 1` quick guesses
 * and then one per `max(decayMs, maxLockMs)` — the bound docs/security.md computes.
 * @module
 */
import type { AttemptPolicy, AttemptState } from './contract.js';

/** Highest exponent used in the doubling; beyond it the cap applies anyway. */
const MAX_DOUBLINGS = 40;

/** A counter with no failures. */
export const NO_ATTEMPTS: AttemptState = Object.freeze({ failures: 0, lockedUntil: null, lockCount: 0, decayFrom: null });

/**
 * The debt at `now`: failures forgiven since `decayFrom`, with `decayFrom` moved forward by
 * exactly the time that paid for them (the remainder keeps counting toward the next one).
 */
export function decayedAttemptState(state: AttemptState, now: Date, decayMs: number): AttemptState {
  if (state.failures <= 0 || state.decayFrom === null) return { failures: 0, lockedUntil: state.lockedUntil, lockCount: 0, decayFrom: null };
  const elapsed = now.getTime() - state.decayFrom.getTime();
  const forgiven = elapsed > 0 ? Math.floor(elapsed / decayMs) : 0;
  if (forgiven === 0) return { ...state };
  if (forgiven >= state.failures) return { failures: 0, lockedUntil: state.lockedUntil, lockCount: 0, decayFrom: null };
  return {
    failures: state.failures - forgiven,
    lockedUntil: state.lockedUntil,
    lockCount: state.lockCount,
    decayFrom: new Date(state.decayFrom.getTime() + forgiven * decayMs),
  };
}

/** The state after one more failure at `now`. */
export function nextAttemptState(prev: AttemptState, now: Date, policy: AttemptPolicy): AttemptState {
  const debt = decayedAttemptState(prev, now, policy.decayMs);
  const failures = debt.failures + 1;
  const decayFrom = debt.decayFrom ?? new Date(now.getTime());
  if (failures < policy.maxFailures) {
    return { failures, lockedUntil: debt.lockedUntil, lockCount: debt.lockCount, decayFrom };
  }
  // Clamp the exponent so 2 ** n never overflows to Infinity for a long-suffering user.
  const doubling = 2 ** Math.min(failures - policy.maxFailures, MAX_DOUBLINGS);
  const lockMs = Math.min(policy.baseLockMs * doubling, policy.maxLockMs);
  return { failures, lockedUntil: new Date(now.getTime() + lockMs), lockCount: debt.lockCount + 1, decayFrom };
}

/**
 * What a read returns: the state as stored (failures as of `decayFrom`; the policy's owner
 * decays them with {@link decayedAttemptState}), with a lock-out that has ended hidden.
 */
export function visibleAttemptState(state: AttemptState, now: Date): AttemptState {
  const until = state.lockedUntil;
  return {
    failures: state.failures,
    lockedUntil: until !== null && until.getTime() > now.getTime() ? new Date(until.getTime()) : null,
    lockCount: state.lockCount,
    decayFrom: state.decayFrom === null ? null : new Date(state.decayFrom.getTime()),
  };
}
