import type { AttemptPolicy, AttemptState } from './contract.js';

/** Highest exponent used in the doubling; beyond it the cap applies anyway. */
const MAX_DOUBLINGS = 40;

/**
 * The state after one more failure. Shared by every store so the lock-out schedule
 * (base, 2×base, 4×base… capped) is identical whatever the backend.
 */
export function nextAttemptState(
  prev: AttemptState,
  now: Date,
  policy: AttemptPolicy,
): AttemptState {
  const failures = prev.failures + 1;
  if (failures < policy.maxFailures) {
    return { failures, lockedUntil: prev.lockedUntil, lockCount: prev.lockCount };
  }
  // Clamp the exponent so 2 ** n never overflows to Infinity for a long-suffering user.
  const factor = 2 ** Math.min(prev.lockCount, MAX_DOUBLINGS);
  const lockMs = Math.min(policy.baseLockMs * factor, policy.maxLockMs);
  return {
    failures: 0,
    lockedUntil: new Date(now.getTime() + lockMs),
    lockCount: prev.lockCount + 1,
  };
}

/** Hides a lock-out that has already ended (`now >= lockedUntil`). */
export function visibleAttemptState(state: AttemptState, now: Date): AttemptState {
  const until = state.lockedUntil;
  return {
    failures: state.failures,
    lockedUntil: until !== null && until.getTime() > now.getTime() ? new Date(until.getTime()) : null,
    lockCount: state.lockCount,
  };
}
