/**
 * The storage contract's part that bounds guessing and ends revoked sessions: failed-attempt
 * counters (per user and factor, per client address), the addresses a user is known at, and
 * the feed of revoked tokens. Every store implements it with the rest of `contract.ts`, which
 * re-exports it; the shared contract suite covers both.
 * @module
 */

/**
 * A failed-attempt counter (of one user's factor, or of one client address). Failures are a
 * debt that only time pays off: one is forgiven per `decayMs` (see {@link AttemptPolicy}); a
 * success never clears it, so the owner signing in does not hand an attacker a fresh budget.
 */
export interface AttemptState {
  /** Failures not yet forgiven, as of `decayFrom` (`decayedAttemptState` brings them to now). */
  failures: number;
  /** When the current lock-out ends; `null` when the counter is not locked out. */
  lockedUntil: Date | null;
  /** Lock-outs since the failures were last all forgiven (for the audit trail and the admin). */
  lockCount: number;
  /** Where forgiveness is counted from; `null` when `failures` is 0. */
  decayFrom: Date | null;
}

/**
 * Lock-out policy passed to `recordFailure`: the failure that brings the debt to `maxFailures`
 * locks for `baseLockMs`, and each further failure (while the debt lasts) doubles the lock-out,
 * up to `maxLockMs`. One failure is forgiven per `decayMs`. The schedule is `nextAttemptState`
 * in `attempt-policy.ts`, shared by every store.
 */
export interface AttemptPolicy {
  /** The failure count whose failure locks first. */
  maxFailures: number;
  /** Length of the first lock-out; each further failure doubles it. */
  baseLockMs: number;
  /** Upper bound of a lock-out. */
  maxLockMs: number;
  /** One failure is forgiven per this much time. */
  decayMs: number;
}

/**
 * Failed-attempt counters per user and factor (`totp`, `backup`, `email`, `password`, and
 * `password@<address key>` for a sign-in address the user is known at), with a doubling
 * lock-out that decays.
 */
export interface AttemptStore {
  /** The counter as stored; `lockedUntil` is null once `now` has reached it. */
  get(userId: string, factor: string, now: Date): Promise<AttemptState>;
  /**
   * ATOMIC: one more failure under `policy` (`nextAttemptState`), read and written with no
   * other failure counted in between. @returns the new state, as `get` would.
   * @throws StoreNotFoundError when the user does not exist.
   */
  recordFailure(
    userId: string,
    factor: string,
    now: Date,
    policy: AttemptPolicy,
  ): Promise<AttemptState>;
  /** Forget the counter (a 2FA reset). */
  reset(userId: string, factor: string): Promise<void>;
  /** Forget every counter of the user (an administrator's unlock); returns how many. */
  removeForUser(userId: string): Promise<number>;
}

/**
 * Failed sign-in counters per client address (a keyed hash of it), across every user: the
 * same schedule as {@link AttemptStore}, for addresses that guess at many accounts.
 */
export interface AddressAttemptStore {
  get(addressKey: string, now: Date): Promise<AttemptState>;
  /** ATOMIC, as {@link AttemptStore.recordFailure}. */
  recordFailure(addressKey: string, now: Date, policy: AttemptPolicy): Promise<AttemptState>;
  reset(addressKey: string): Promise<void>;
  /** Removes counters whose last failure was forgiven before `before`; returns how many. */
  removeIdle(before: Date): Promise<number>;
}

/**
 * Addresses a user signed in from with the right password (keyed hashes): wrong passwords from
 * them count on a counter of their own, so strangers guessing at the account cannot lock the
 * owner out at home.
 */
export interface KnownAddressStore {
  /** Records a successful password check from `addressKey` at `at`. @throws StoreNotFoundError. */
  remember(userId: string, addressKey: string, at: Date): Promise<void>;
  /** When the user last proved the password from that address, or null. */
  lastSuccess(userId: string, addressKey: string): Promise<Date | null>;
}

/** A login or personal access token that stopped working (removed, replaced, expired, its user removed). */
export interface RevokedToken {
  /** Increasing in the order the revocations were written (gaps allowed). */
  seq: number;
  hashedToken: string;
  at: Date;
}

/**
 * The feed of revoked tokens, written by the store itself in the same transaction as the
 * token's removal (every path: methods, admin commands, cascades, expiry sweeps), so every
 * server process sharing the store can end the connections that used a token.
 */
export interface RevocationStore {
  /** The newest entry's `seq`, or 0: where a reader that starts now begins. */
  latestSeq(): Promise<number>;
  /**
   * Entries with `seq > afterSeq`, oldest first, at most `limit`. A store whose transactions
   * may commit out of `seq` order (PostgreSQL) also returns, beyond the limit, the entries with
   * `seq <= afterSeq` written in the {@link REVOCATION_OVERLAP_MS} before entry `afterSeq`, so
   * one committed late is still seen; readers skip the `seq`s they already applied.
   */
  since(afterSeq: number, limit: number): Promise<RevokedToken[]>;
  /** Removes entries written before `before`; returns how many. */
  removeOlderThan(before: Date): Promise<number>;
}

/** How far back a PostgreSQL revocation read looks past its cursor (see {@link RevocationStore.since}). */
export const REVOCATION_OVERLAP_MS = 10_000;
