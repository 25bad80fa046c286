/**
 * RedisPubSub against a real Redis: delivery across connections (two processes), several
 * handlers, unsubscribing, prefixes, bad messages and throwing handlers, close. Skipped,
 * saying so, when Redis does not answer.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { RedisPubSub } from '../../server/redis/pubsub.js';
import { randomPrefix, REDIS_URL, skipWithoutRedis, testClient } from './helpers.js';

interface Events {
  'user-changed': { id: string; fields: string[]; at: string };
  ping: number;
}

/** Resolves with the next `n` payloads a handler receives; fails after `ms`. */
function collect<T>(n: number, ms = 2_000): { handler: (p: T) => void; done: Promise<T[]>; got: T[] } {
  const got: T[] = [];
  let resolve!: (v: T[]) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<T[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`received ${got.length} of ${n} messages: ${JSON.stringify(got)}`)), ms);
  return {
    handler: (p) => {
      got.push(p);
      if (got.length === n) {
        clearTimeout(timer);
        resolve([...got]);
      }
    },
    done,
    got,
  };
}

describe('RedisPubSub', function () {
  let prefix: string;
  let raw: Redis | undefined;
  const buses: RedisPubSub<Events>[] = [];
  /** A bus as another process would have: its own connections. */
  const bus = (options: { prefix?: string; onError?: (err: Error, channel: string) => void } = {}): RedisPubSub<Events> => {
    const b = new RedisPubSub<Events>({ redis: REDIS_URL, prefix, ...options });
    buses.push(b);
    return b;
  };

  before(async function () {
    await skipWithoutRedis(this);
    raw = testClient();
  });
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  after(async () => {
    await raw?.quit();
  });

  it('delivers JSON payloads from one process to another, in order', async () => {
    const sender = bus();
    const receiver = bus();
    const { handler, done } = collect<Events['user-changed']>(2);
    await receiver.subscribe('user-changed', handler);
    const at = new Date('2030-01-01T00:00:00.000Z').toISOString();
    expect(await sender.publish('user-changed', { id: 'u1', fields: ['emails'], at })).to.equal(1);
    await sender.publish('user-changed', { id: 'u2', fields: [], at });
    expect(await done).to.deep.equal([{ id: 'u1', fields: ['emails'], at }, { id: 'u2', fields: [], at }]);
  });

  it('calls every handler of a channel, only for that channel, and stops after unsubscribe', async () => {
    const sender = bus();
    const receiver = bus();
    const first = collect<number>(2);
    const second = collect<number>(1);
    const stopFirst = await receiver.subscribe('ping', first.handler);
    const stopSecond = await receiver.subscribe('ping', second.handler);
    const others: unknown[] = [];
    await receiver.subscribe('user-changed', (p) => others.push(p));
    await sender.publish('ping', 1);
    expect(await second.done).to.deep.equal([1]);
    await stopSecond();
    await stopSecond(); // twice is harmless
    await sender.publish('ping', 2);
    expect(await first.done).to.deep.equal([1, 2]);
    // Delivered to the same connection in the same message: had it still been subscribed, it
    // would have it by now.
    expect(second.got).to.deep.equal([1]);
    await stopFirst();
    // Nobody listens on 'ping' any more in that process.
    expect(await sender.publish('ping', 3)).to.equal(0);
    expect(others).to.deep.equal([]);
  });

  it('keeps prefixes apart', async () => {
    const sender = bus();
    const mine = collect<number>(1);
    const foreign: number[] = [];
    await bus().subscribe('ping', mine.handler);
    await bus({ prefix: `${prefix}elsewhere:` }).subscribe('ping', (n) => foreign.push(n));
    expect(await sender.publish('ping', 7)).to.equal(1);
    expect(await mine.done).to.deep.equal([7]);
    expect(foreign).to.deep.equal([]);
  });

  it('reports a non-JSON message and a throwing handler, and still runs the other handlers', async () => {
    const errors: string[] = [];
    const receiver = bus({ onError: (err, channel) => errors.push(`${channel}: ${err.message}`) });
    const good = collect<number>(1);
    await receiver.subscribe('ping', () => {
      throw new Error('handler broke');
    });
    await receiver.subscribe('ping', good.handler);
    expect(await raw!.publish(`${prefix}ping`, 'not json {')).to.equal(1);
    await bus().publish('ping', 5);
    expect(await good.done).to.deep.equal([5]);
    expect(errors).to.deep.equal([`${prefix}ping: Dropped a message on ${prefix}ping that is not JSON`, `${prefix}ping: handler broke`]);
  });

  it('refuses a payload JSON cannot carry, and any use after close', async () => {
    const b = bus();
    let err: unknown;
    await b.publish('ping', undefined as unknown as number).catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(TypeError);
    await b.close();
    await b.close();
    err = undefined;
    await b.publish('ping', 1).catch((e: unknown) => { err = e; });
    expect((err as Error).message).to.match(/closed/);
    err = undefined;
    await b.subscribe('ping', () => {}).catch((e: unknown) => { err = e; });
    expect((err as Error).message).to.match(/closed/);
  });

  it('leaves a caller\'s client open on close', async () => {
    const client = testClient();
    try {
      const b = new RedisPubSub<Events>({ redis: client, prefix });
      const got = collect<number>(1);
      await b.subscribe('ping', got.handler);
      await b.publish('ping', 9);
      expect(await got.done).to.deep.equal([9]);
      await b.close();
      expect(await client.ping()).to.equal('PONG');
    } finally {
      await client.quit();
    }
  });
});
