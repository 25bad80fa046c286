/**
 * Handshake timeouts and heartbeats for every session, from ONE timer per server instead of one
 * per connection: thousands of idle connections then cost no timer objects. Meteor's rules:
 * after `heartbeatIntervalMs` without any inbound message the server sends `ping`; if nothing
 * at all arrives within `heartbeatTimeoutMs` after that, the socket is closed. Every inbound
 * message counts as a sign of life, and recording one is a single assignment.
 *
 * The sweep runs every quarter of the shortest of those periods, so a ping or a close happens
 * at most a quarter period late.
 */
import { performance } from 'node:perf_hooks';

/** What the sweeper asks of each session. */
export interface Sweepable {
  /** Check timeouts at `now` ({@link monotonicNow} ms): ping, or close. */
  sweep(now: number): void;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private readonly periodMs: number;

  constructor(
    private readonly sessions: ReadonlySet<Sweepable>,
    periods: readonly number[],
  ) {
    const shortest = Math.min(...periods.filter((p) => p > 0));
    this.periodMs = Math.max(1, Math.floor(shortest / 4));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = monotonicNow();
      for (const session of this.sessions) session.sweep(now);
    }, this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * Monotonic whole milliseconds, the clock of handshake and heartbeat timeouts. Whole numbers
 * stay small integers in V8, so storing one per message allocates nothing.
 */
export function monotonicNow(): number {
  return Math.floor(performance.now());
}
