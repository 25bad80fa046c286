/**
 * A small typed publish/subscribe over Redis for events between server processes (for
 * example a publication's change made in one process, seen by subscribers in all).
 * @module
 */
import { Redis } from 'ioredis';

/** Called with each payload published on a channel, already decoded. */
export type PubSubHandler<T> = (payload: T) => void;

/** Stops one handler; resolves once Redis has been told (when it was the channel's last). */
export type Unsubscribe = () => Promise<void>;

/** Options of {@link RedisPubSub}. */
export interface RedisPubSubOptions {
  /**
   * The connection to publish on: a client (the caller's; never closed here) or a
   * `redis://` URL (connected and closed here). A duplicate of it subscribes: a Redis
   * connection in subscriber mode can run no other command.
   */
  redis: Redis | string;
  /**
   * Put before every channel name, so several applications (or test runs) can share a Redis.
   * @default 'ddp-guard:'
   */
  prefix?: string;
  /**
   * Told about a message that is not valid JSON and about a handler that threw; the other
   * handlers still run. By default such errors are dropped.
   */
  onError?: (err: Error, channel: string) => void;
}

/** The default of {@link RedisPubSubOptions.prefix}. */
export const DEFAULT_PUBSUB_PREFIX = 'ddp-guard:';

/**
 * Publish/subscribe with JSON payloads. `Events` maps channel names to payload types; it
 * only types the calls (payloads are not validated on receipt: they come from processes
 * running this same code). JSON means a `Date` arrives as its ISO string and `undefined`
 * fields disappear.
 *
 * @example
 * const bus = new RedisPubSub<{ 'user-changed': { id: string } }>({ redis: 'redis://127.0.0.1:6379' });
 * const stop = await bus.subscribe('user-changed', (e) => refresh(e.id));
 * await bus.publish('user-changed', { id });
 */
export class RedisPubSub<Events extends object = Record<string, unknown>> {
  private readonly publisher: Redis;
  private readonly ownsPublisher: boolean;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly onError: (err: Error, channel: string) => void;
  /** Handlers by full (prefixed) channel name, with the SUBSCRIBE confirmation. */
  private readonly channels = new Map<string, { handlers: Set<PubSubHandler<never>>; ready: Promise<void> }>();
  private closed = false;

  constructor(options: RedisPubSubOptions) {
    this.ownsPublisher = typeof options.redis === 'string';
    this.publisher = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    this.subscriber = this.publisher.duplicate();
    this.prefix = options.prefix ?? DEFAULT_PUBSUB_PREFIX;
    this.onError = options.onError ?? (() => {});
    this.subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    // Errors are retried by ioredis (subscriptions are restored on reconnect); a listener
    // keeps an 'error' event from crashing the process.
    this.subscriber.on('error', () => {});
    if (this.ownsPublisher) this.publisher.on('error', () => {});
  }

  /**
   * Sends `payload` (as JSON) to every subscriber of `channel`, in every process.
   * @returns how many connections received it.
   */
  async publish<C extends keyof Events & string>(channel: C, payload: Events[C]): Promise<number> {
    this.checkOpen();
    const json = JSON.stringify(payload);
    if (json === undefined) throw new TypeError(`Cannot publish ${String(payload)} on ${channel}: not representable as JSON`);
    return this.publisher.publish(this.prefix + channel, json);
  }

  /**
   * Calls `handler` with each payload published on `channel` from now on (resolves once
   * Redis confirmed the subscription). Several handlers per channel are fine.
   */
  async subscribe<C extends keyof Events & string>(channel: C, handler: PubSubHandler<Events[C]>): Promise<Unsubscribe> {
    this.checkOpen();
    const full = this.prefix + channel;
    const h = handler as PubSubHandler<never>;
    let entry = this.channels.get(full);
    if (!entry) {
      // The first handler subscribes; later ones wait for that same confirmation.
      entry = { handlers: new Set(), ready: this.subscriber.subscribe(full).then(() => {}) };
      this.channels.set(full, entry);
    }
    entry.handlers.add(h);
    try {
      await entry.ready;
    } catch (err) {
      entry.handlers.delete(h);
      if (this.channels.get(full) === entry) this.channels.delete(full);
      throw err;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      const current = this.channels.get(full);
      if (!current?.handlers.delete(h) || current.handlers.size > 0) return;
      this.channels.delete(full);
      if (!this.closed) await this.subscriber.unsubscribe(full);
    };
  }

  /** Closes the subscriber connection, and the publisher when it was made from a URL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    await Promise.all([quit(this.subscriber), this.ownsPublisher ? quit(this.publisher) : undefined]);
  }

  private deliver(channel: string, message: string): void {
    const set = this.channels.get(channel)?.handlers;
    if (!set || set.size === 0) return;
    let payload: never;
    try {
      payload = JSON.parse(message) as never;
    } catch (err) {
      this.onError(new Error(`Dropped a message on ${channel} that is not JSON`, { cause: err }), channel);
      return;
    }
    // A copy: a handler may unsubscribe (itself or another) while we iterate.
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (err) {
        this.onError(err instanceof Error ? err : new Error(String(err)), channel);
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('This RedisPubSub is closed');
  }
}

/** QUIT, or disconnect at once when the connection is not up (QUIT would wait for it). */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}
