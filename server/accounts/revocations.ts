/**
 * Ending the connections of revoked tokens, on every process. The store writes every removal or
 * replacement of a login or personal access token to its revocation feed (triggers, in the
 * same transaction); each process reads the feed — at once after a revocation of its own, when
 * another process nudges it through Redis, and every `revocationPollMs` otherwise (admin
 * commands run in a process of their own) — and closes every connection logged in with a token
 * that appears there. A revoked token never works again, so applying an entry twice is harmless.
 */
import { CLOSE_CODES } from '../../protocol/constants.js';
import type { LoginState } from '../calls/caller.js';
import { errorFields, type Logger } from '../runtime/logger.js';
import type { RevocationStore } from '../storage/contract.js';
import { REVOCATION_OVERLAP_MS } from '../storage/contract.js';

/** The slice of a session revocation needs. */
export interface LiveSession {
  readonly login: LoginState | null;
  close(code: number, reason: string): void;
}

export type SessionEnumerator = (fn: (session: LiveSession) => void) => void;

/** Entries read per query; a longer backlog is read in several. */
const PAGE = 1000;

export interface RevocationWatcherOptions {
  feed: () => Promise<RevocationStore>;
  each: SessionEnumerator;
  logger: () => Logger;
  pollMs: number;
  /** Tell the other processes to read the feed now (Redis), when there are others. */
  nudgeOthers?: () => void;
}

export class RevocationWatcher {
  private cursor = 0;
  /** `seq`s applied within the overlap window, with their time (the PostgreSQL feed repeats them). */
  private readonly applied = new Map<number, number>();
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(private readonly options: RevocationWatcherOptions) {}

  /** Start at the feed's end (connections opened from now on are all that can be affected) and poll. */
  async start(): Promise<void> {
    this.cursor = await (await this.options.feed()).latestSeq();
    this.timer = setInterval(() => void this.sync().catch(() => undefined), this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * This process just revoked tokens: end their connections here before answering, and tell
   * the other processes to look.
   */
  async revoked(): Promise<void> {
    this.options.nudgeOthers?.();
    await this.sync();
  }

  /**
   * Read the feed and end the connections of every token revoked since the last read. A call
   * made while a read runs waits for one more read after it, so what was written before the
   * call is always applied when it resolves.
   */
  sync(): Promise<void> {
    if (this.running === null) {
      this.running = this.read().finally(() => (this.running = null));
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = null;
      return this.sync();
    });
    return this.queued;
  }

  private async read(): Promise<void> {
    const feed = await this.options.feed();
    try {
      for (;;) {
        const from = this.cursor;
        const entries = await feed.since(from, PAGE);
        const revoked = new Set<string>();
        let newest = 0;
        let newer = 0;
        for (const e of entries) {
          if (e.seq > from) newer++;
          this.cursor = Math.max(this.cursor, e.seq);
          newest = Math.max(newest, e.at.getTime());
          if (this.applied.has(e.seq)) continue;
          this.applied.set(e.seq, e.at.getTime());
          revoked.add(e.hashedToken);
        }
        if (revoked.size > 0) this.closeSessions(revoked);
        this.forgetBefore(newest - 2 * REVOCATION_OVERLAP_MS);
        if (newer < PAGE) break;
      }
      if (this.failing) this.options.logger().info({}, 'reading the revocation feed again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.logger().error({ ...errorFields(err) }, 'could not read the revocation feed: connections of revoked tokens stay open until it answers');
      this.failing = true;
      throw err;
    }
  }

  private closeSessions(revoked: ReadonlySet<string>): void {
    this.options.each((session) => {
      const token = session.login?.hashedToken;
      if (token !== undefined && revoked.has(token)) session.close(CLOSE_CODES.normal, 'Logged out by the server');
    });
  }

  private forgetBefore(atMs: number): void {
    for (const [seq, at] of this.applied) if (at < atMs) this.applied.delete(seq);
  }
}
