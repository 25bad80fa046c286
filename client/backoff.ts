/**
 * Reconnect delays, as Meteor's `Retry` computes them: exponential growth with random jitter,
 * so that many clients dropped by one server restart do not all come back at the same instant.
 */

/** Backoff settings (see `CLIENT_DEFAULTS` for the defaults). */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  minDelayMs: number;
  /** Upper bound of any delay, in ms. */
  maxDelayMs: number;
  /** Growth per failed attempt (Meteor: 2.2). */
  factor: number;
  /** Spread of the random jitter: 0.5 means ×0.75 to ×1.25 (Meteor's `fuzz`). */
  jitter: number;
  /** A source of numbers in [0, 1); injectable so tests are deterministic. */
  random: () => number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry after a drop):
 * `min(maxDelayMs, minDelayMs × factor^attempt)`, times a random factor in
 * `[1 − jitter/2, 1 + jitter/2)`, never above `maxDelayMs`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const base = Math.min(options.maxDelayMs, options.minDelayMs * Math.pow(options.factor, attempt));
  const fuzz = 1 - options.jitter / 2 + options.random() * options.jitter;
  return Math.round(Math.min(options.maxDelayMs, base * fuzz));
}
