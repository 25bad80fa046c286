/**
 * Handshake timeouts and heartbeats for every session, from ONE timer per server instead of one
 * per connection: thousands of idle connections then cost no timer objects. Meteor's rules:
 * after `heartbeatIntervalMs` without any inbound message the server sends `ping`; if nothing
 * at all arrives within `heartbeatTimeoutMs` after that, the socket is closed. Every inbound
 * message counts as a sign of life, and recording one is a single assignment.
 *
 * Every session is checked once every quarter of the shortest of those periods, so a ping or a
 * close happens at most a quarter period late. That pass is spread over up to 32 ticks, each
 * checking the next slice of sessions: with all sessions checked in one tick, the sessions
 * pinged together stay together (each answers at once, so each is due again in the same tick),
 * and 20 000 idle connections sent about 5 000 pings and got 5 000 pongs in one burst,
 * stalling the event loop for calls on other connections by hundreds of milliseconds.
 */
import { performance } from 'node:perf_hooks';

/** What the sweeper asks of each session. */
export interface Sweepable {
  /** Check timeouts at `now` ({@link monotonicNow} ms): ping, or close. */
  sweep(now: number): void;
}

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  /** Ticks per pass over every session, and the time between two ticks. */
  private readonly slices: number;
  private readonly tickMs: number;
  /** Where the current pass is (a Set iterator sees sessions added and skips removed ones). */
  private cursor: Iterator<Sweepable> | null = null;

  constructor(
    private readonly sessions: ReadonlySet<Sweepable>,
    periods: readonly number[],
  ) {
    const shortest = Math.min(...periods.filter((p) => p > 0));
    const periodMs = Math.max(1, Math.floor(shortest / 4));
    this.slices = Math.max(1, Math.min(32, Math.floor(periodMs / 10)));
    this.tickMs = Math.max(1, Math.floor(periodMs / this.slices));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Checks the next slice of sessions; a pass ends where the set does, whatever is left of the slice. */
  private tick(): void {
    const now = monotonicNow();
    this.cursor ??= this.sessions.values();
    for (let left = Math.ceil(this.sessions.size / this.slices); left > 0; left--) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = null;
        return;
      }
      next.value.sweep(now);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.cursor = null;
  }
}

/**
 * Monotonic whole milliseconds, the clock of handshake and heartbeat timeouts. Whole numbers
 * stay small integers in V8, so storing one per message allocates nothing.
 */
export function monotonicNow(): number {
  return Math.floor(performance.now());
}
