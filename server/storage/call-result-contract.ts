/**
 * The storage contract's part that lets a re-sent method call run once: the outcomes of recent
 * calls, keyed by user and the call's `randomSeed`, shared by every process on the store. Every
 * store implements it with the rest of `contract.ts`, which re-exports it; the shared contract
 * suite covers both.
 * @module
 */

/** What {@link CallResultStore.claim} and {@link CallResultStore.get} find for a key. */
export type CallClaim =
  /** No live entry was there: the caller now owns the call and must complete or release it. */
  | { readonly state: 'claimed' }
  /** Another caller claimed it at `claimedAt` and has not recorded an outcome yet. */
  | { readonly state: 'running'; readonly claimedAt: Date }
  /** The call ended; `outcome` is the text its owner recorded. */
  | { readonly state: 'done'; readonly outcome: string };

/**
 * Entries are keyed by user id and seed but do not reference the user (no `StoreNotFoundError`):
 * they are short-lived and expire on their own. An entry whose `expiresAt` has passed is as good
 * as absent.
 */
export interface CallResultStore {
  /**
   * ATOMIC: claims the key for a call starting at `now`, kept until `expiresAt` — unless a live
   * entry is there, which is returned instead (`running` or `done`). An expired entry is replaced.
   */
  claim(userId: string, seed: string, now: Date, expiresAt: Date): Promise<CallClaim>;
  /** The live entry (`running` or `done`), or null when there is none (never `claimed`). */
  get(userId: string, seed: string, now: Date): Promise<CallClaim | null>;
  /** Records the outcome of a claimed call; false when the entry is gone or already has one. */
  complete(userId: string, seed: string, outcome: string): Promise<boolean>;
  /** Drops a claim that has no outcome (the call was refused before it ran); a done entry stays. */
  release(userId: string, seed: string): Promise<void>;
  /** Removes entries whose `expiresAt` is at or before `now`; returns how many. */
  removeExpired(now: Date): Promise<number>;
}
