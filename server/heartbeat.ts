/**
 * Server-side heartbeats, as Meteor's: after `intervalMs` without any inbound message the server
 * sends `ping`; if nothing at all arrives within `timeoutMs` after that, the socket is closed.
 * Every inbound message counts as a sign of life. Recording one is a single assignment: the
 * timer is re-armed only when it fires, not on every message.
 */
import { performance } from 'node:perf_hooks';

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private lastSeen = performance.now();
  private pingSentAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly sendPing: () => void,
    private readonly onTimeout: () => void,
  ) {}

  /** Note a sign of life. */
  seen(): void {
    this.lastSeen = performance.now();
  }

  start(): void {
    if (this.intervalMs <= 0) return;
    this.lastSeen = performance.now();
    this.arm(this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get active(): boolean {
    return this.timer !== null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.tick(), Math.max(1, ms));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    const now = performance.now();
    if (this.pingSentAt !== 0) {
      if (this.lastSeen < this.pingSentAt) {
        this.onTimeout();
        return;
      }
      this.pingSentAt = 0;
    }
    const idle = now - this.lastSeen;
    if (idle >= this.intervalMs) {
      this.pingSentAt = now;
      this.sendPing();
      this.arm(this.timeoutMs);
    } else {
      this.arm(this.intervalMs - idle);
    }
  }
}
