/**
 * Handshake timeouts and heartbeats for every session, from ONE timer per server instead of one
 * per connection: thousands of idle connections then cost no timer objects. Meteor's rules:
 * at the end of each `heartbeatIntervalMs` interval during which no message at all arrived the
 * server sends `ping`; if nothing arrives within `heartbeatTimeoutMs` after that, the socket is
 * closed (Session.sweep). Every inbound message counts as a sign of life, and recording one is
 * a single assignment.
 *
 * Every session is checked once every quarter of the shortest of those periods, so a ping or a
 * close happens at most a quarter period late. That pass is spread over ticks of at most 64
 * sessions each (ticks at least 10 ms apart): with all sessions checked in one tick, the sessions
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

/** At most this many sessions are checked in one tick, so a tick stays well under a millisecond or two. */
const SESSIONS_PER_TICK = 64;
/** Ticks are at least this far apart (ms): a pass over many sessions is spread, not a busy loop. */
const MIN_TICK_MS = 10;

export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  /** Every session is checked once per this many ms (a quarter of the shortest period). */
  private readonly periodMs: number;
  /** The most ticks one pass may take (ticks at least {@link MIN_TICK_MS} apart). */
  private readonly maxSlices: number;
  /** The time to the next tick, chosen at every tick. */
  private tickMs: number;
  /** Where the current pass is (a Set iterator sees sessions added and skips removed ones). */
  private cursor: Iterator<Sweepable> | null = null;
  private readonly onTimer = (): void => this.tick();

  constructor(
    private readonly sessions: ReadonlySet<Sweepable>,
    periods: readonly number[],
  ) {
    const shortest = Math.min(...periods.filter((p) => p > 0));
    this.periodMs = Math.max(1, Math.floor(shortest / 4));
    this.maxSlices = Math.max(1, Math.floor(this.periodMs / MIN_TICK_MS));
    // The first tick comes soon and chooses the pace from the sessions there are then.
    this.tickMs = Math.min(this.periodMs, MIN_TICK_MS);
  }

  start(): void {
    if (this.timer) return;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(this.onTimer, this.tickMs);
    this.timer.unref();
  }

  /**
   * Checks the next slice of sessions. The slices are chosen at every tick from the number of
   * sessions now (a pass over a set that grows while it runs keeps pace with it): one tick per
   * pass for a few sessions (an idle server wakes once per period), up to one tick every
   * {@link MIN_TICK_MS} ms with about {@link SESSIONS_PER_TICK} sessions each for many.
   */
  private tick(): void {
    const slices = Math.min(this.maxSlices, Math.max(1, Math.ceil(this.sessions.size / SESSIONS_PER_TICK)));
    this.tickMs = Math.max(1, Math.floor(this.periodMs / slices));
    this.cursor ??= this.sessions.values();
    const now = monotonicNow();
    for (let left = Math.max(1, Math.ceil(this.sessions.size / slices)); left > 0; left--) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = null;
        break;
      }
      next.value.sweep(now);
    }
    if (this.timer !== null) this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
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
