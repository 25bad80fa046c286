/**
 * Time source. Everything that depends on "now" (TOTP windows, code expiry, lock-outs,
 * token lifetimes) takes a Clock so tests can drive time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock: `Date.now()`. */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
});

/** A clock that only moves when told to; for tests. */
export class ManualClock implements Clock {
  private current: number;

  /** @param startMs initial time in ms since the epoch (default: 0). */
  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  /** Jump to an absolute time in ms. */
  set(ms: number): void {
    this.current = ms;
  }

  /** Move forward (or backward, with a negative value) by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
}
