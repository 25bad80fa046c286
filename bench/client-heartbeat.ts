/**
 * The client side of DDP heartbeats, as Meteor's client runs it (ddp-common's `Heartbeat`, with
 * ddp-client's `heartbeatInterval: 17500` and `heartbeatTimeout: 15000`): a timer per connection
 * fires every 17.5 s from the handshake and sends `ping` only if nothing at all arrived since it
 * last fired and no ping is awaiting its answer; a connection whose ping got no message back is
 * closed (Meteor: 15 s after the ping; here at its next interval, 17.5 s after). The server's own pings therefore keep a Meteor client silent while they
 * come at least every 17.5 s, and a client ping counts as a sign of life on the server, which
 * then pings later: the two sides do not both ping every period.
 *
 * For the fleet's thousands of idle connections the timers are one wheel of 100 ms slots per
 * process (a connection fires in the slot of its handshake, every 17.5 s, within 100 ms), not a
 * timer each.
 */
import { performance } from 'node:perf_hooks';

/** Meteor client's defaults (packages/ddp-client/common/livedata_connection.js). */
export const CLIENT_HEARTBEAT_INTERVAL_MS = 17_500;
export const CLIENT_HEARTBEAT_TIMEOUT_MS = 15_000;
const SLOT_MS = 100;

/** What the heartbeat needs of a connection. */
export interface HeartbeatConnection {
  /** When the last message arrived (performance.now() ms). */
  readonly lastReceived: number;
  readonly isOpen: boolean;
  ping(): void;
  close(): void;
}

interface Entry { conn: HeartbeatConnection; lastFired: number; pingSentAt: number }

export class ClientHeartbeats {
  private readonly slots: Entry[][] = Array.from({ length: CLIENT_HEARTBEAT_INTERVAL_MS / SLOT_MS }, () => []);
  private readonly started = performance.now();
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Connections closed because a ping got no answer in time. */
  timedOut = 0;

  /** Starts the connection's heartbeat now (at its handshake). */
  add(conn: HeartbeatConnection): void {
    const now = performance.now();
    const slot = Math.floor((now - this.started) / SLOT_MS) % this.slots.length;
    this.slots[slot]!.push({ conn, lastFired: now, pingSentAt: 0 });
    this.timer ??= setTimeout(() => this.tick(), SLOT_MS);
  }

  /** Fires every slot whose time has come (a late tick catches up). */
  private tick(): void {
    const now = performance.now();
    const due = Math.floor((now - this.started) / SLOT_MS);
    for (; this.next <= due; this.next++) {
      const slot = this.slots[this.next % this.slots.length]!;
      if (slot.length > 0) this.slots[this.next % this.slots.length] = slot.filter((e) => this.fire(e, now));
    }
    this.timer = setTimeout(() => this.tick(), Math.max(1, this.started + this.next * SLOT_MS - performance.now()));
  }

  /** One interval of one connection; false once it is closed (it leaves the wheel). */
  private fire(e: Entry, now: number): boolean {
    if (!e.conn.isOpen) return false;
    // Fired in its slot's first pass after 17.5 s: a connection added in this slot's current turn waits for the next.
    if (now - e.lastFired < CLIENT_HEARTBEAT_INTERVAL_MS - SLOT_MS) return true;
    const seen = e.conn.lastReceived > e.lastFired;
    e.lastFired = now;
    if (e.pingSentAt !== 0) {
      if (e.conn.lastReceived > e.pingSentAt) e.pingSentAt = 0;
      else if (now - e.pingSentAt >= CLIENT_HEARTBEAT_TIMEOUT_MS) {
        this.timedOut++;
        e.conn.close();
        return false;
      }
    }
    if (!seen && e.pingSentAt === 0) {
      e.pingSentAt = now;
      e.conn.ping();
    }
    return true;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const slot of this.slots) slot.length = 0;
  }
}
