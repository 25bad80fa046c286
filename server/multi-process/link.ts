/**
 * What one server process shares with the others through Redis (`redisUrl`): the rate-limit
 * counters, "this user's document changed" events and stream events. PostgreSQL holds the rest
 * (users, tokens, codes, attempts, TOTP steps), so this link carries no state of its own.
 *
 * Every message carries the id of the process that sent it; a process ignores its own, having
 * already delivered the event locally when it happened. So each process delivers each event
 * exactly once, and a process without Redis behaves as before.
 */
import { Redis } from 'ioredis';
import { decode, encode } from '../../protocol/ejson.js';
import { randomId } from '../runtime/ids.js';
import { errorFields, type Logger } from '../runtime/logger.js';
import { RedisPubSub } from '../redis/pubsub.js';
import { RedisRateLimitCounters } from '../redis/rate-limit-counters.js';
import type { StreamRelay } from '../streams/registry.js';
import { RelayedUserEvents } from './user-events.js';
import { redactUrl } from '../security/redact-url.js';

/** The channels and their payloads (`o`: the sending process). */
interface Channels {
  'user-changed': { o: string; u: string };
  /** `a`: the event's arguments as EJSON text, so dates and binary survive the trip. */
  'stream-event': { o: string; s: string; e: string; a: string };
  /** Tokens were revoked: read the store's revocation feed now. */
  'tokens-revoked': { o: string };
}

/** Options of {@link MultiProcessLink}. */
export interface MultiProcessLinkOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Read when something goes wrong, so the server's logger can be made after the link. */
  logger: () => Logger;
  /** Whether the store is one other processes can share (PostgreSQL, or a store given in code). */
  sharedStore?: boolean;
}

/** How long a Redis command may take before the call that needed it fails. */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;

export class MultiProcessLink implements StreamRelay {
  /** This process, in every message it publishes. */
  readonly origin = randomId();
  /** Rate-limit counters shared by every process (give them to the `DdpServer`). */
  readonly counters: RedisRateLimitCounters;
  /** User change events shared by every process (give them to the services). */
  readonly userEvents: RelayedUserEvents;
  private readonly redis: Redis;
  private readonly bus: RedisPubSub<Channels>;
  private readonly logger: () => Logger;
  private readonly redacted: string;
  private readonly sharedStore: boolean;
  private readonly inFlight = new Set<Promise<unknown>>();
  private streamReceiver: ((stream: string, eventName: string, args: unknown[]) => void) | null = null;
  private revocationReceiver: (() => void) | null = null;
  /** Up since `start()`: before that, `start()` reports a Redis that does not answer. */
  private started = false;
  private down = false;
  private closed = false;

  constructor(options: MultiProcessLinkOptions) {
    this.logger = options.logger;
    this.redacted = redactUrl(options.url);
    this.sharedStore = options.sharedStore ?? true;
    // Lazy: nothing connects before `start()`, so a server that never listens holds no socket.
    // Bounded retries and a command timeout: during an outage calls fail instead of waiting.
    // Named after the process, so `CLIENT LIST` tells whose connections they are.
    this.redis = new Redis(options.url, {
      lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: `ddp-guard:${this.origin}`,
    });
    this.redis.on('error', (err: Error) => {
      if (!this.started || this.down || this.closed) return;
      this.down = true;
      this.logger().warn({ redis: this.redacted, ...errorFields(err) }, 'lost the connection to Redis: rate-limited calls fail and other processes miss events until it is back');
    });
    this.redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.logger().info({ redis: this.redacted }, 'connected to Redis again');
    });
    this.counters = new RedisRateLimitCounters(this.redis);
    this.bus = new RedisPubSub<Channels>({
      redis: this.redis,
      onError: (err, channel) => this.logger().error({ channel, ...errorFields(err) }, 'could not handle an event from another process'),
    });
    this.userEvents = new RelayedUserEvents((userId) => this.send('user-changed', { o: this.origin, u: userId }));
  }

  /** Connects and listens to the other processes; a Redis that does not answer is a clear error. */
  async start(): Promise<void> {
    let socketError: Error | undefined;
    const onError = (err: Error): void => {
      socketError ??= err;
    };
    this.redis.on('error', onError);
    try {
      await this.redis.connect();
      await this.redis.ping();
    } catch (err) {
      const reason = (socketError ?? (err instanceof Error ? err : new Error(String(err)))).message;
      throw new Error(`Redis at ${this.redacted} does not answer (${reason}): start it, or check redisUrl (--redis)`);
    } finally {
      this.redis.off('error', onError);
    }
    this.started = true;
    if (!this.sharedStore) this.logger().warn({ redis: this.redacted }, 'redisUrl is set but the database is not PostgreSQL: other processes share rate limits and events with this one, not its users, codes or attempts');
    // Unsubscribed by `bus.close()`.
    await this.bus.subscribe('user-changed', (m) => {
      if (m.o !== this.origin) this.userEvents.receive(m.u);
    });
    await this.bus.subscribe('stream-event', (m) => {
      if (m.o !== this.origin) this.streamReceiver?.(m.s, m.e, decode(m.a) as unknown[]);
    });
    await this.bus.subscribe('tokens-revoked', (m) => {
      if (m.o !== this.origin) this.revocationReceiver?.();
    });
  }

  /** Resolves when Redis answers a PING (for `/readyz`); rejects within the command timeout otherwise. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** What to do when another process revoked tokens (read the feed at once instead of at the next poll). */
  onRevocationNudge(fn: () => void): void {
    this.revocationReceiver = fn;
  }

  /** This process revoked tokens: the others should read the feed now. */
  nudgeRevocations(): void {
    this.send('tokens-revoked', { o: this.origin });
  }

  /** Where stream events from other processes go. */
  onStreamEvent(fn: (stream: string, eventName: string, args: unknown[]) => void): void {
    this.streamReceiver = fn;
  }

  /** A stream event emitted in this process, for the others. */
  publish(stream: string, eventName: string, args: unknown[]): void {
    // Encoded now: a value EJSON cannot carry throws at the emit that made it.
    this.send('stream-event', { o: this.origin, s: stream, e: eventName, a: encode(args) });
  }

  /** Waits for events still being published, then closes both Redis connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.inFlight]);
    this.closed = true;
    await this.bus.close();
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  private send<C extends keyof Channels>(channel: C, payload: Channels[C]): void {
    if (this.closed) return;
    const done = this.bus.publish(channel, payload).then(
      () => {},
      (err: unknown) => this.logger().warn({ channel, ...errorFields(err) }, 'could not tell the other processes about an event'),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}

