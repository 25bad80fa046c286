/**
 * Shared pieces of the Redis tests: the server they use, a check that it answers, clients
 * that fail fast, and a random key prefix per run so runs never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { skipBecause } from '../helpers/skip.js';

/** The Redis the tests use (local here and in CI). */
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A client that gives up quickly instead of queueing commands while Redis is down. */
export function testClient(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  client.on('error', () => {});
  return client;
}

/** Null when Redis answers PING at {@link REDIS_URL}; otherwise why not. */
export async function redisProblem(): Promise<string | null> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  // The socket error says more than the "Connection is closed." that connect() rejects with.
  let socketError: Error | undefined;
  probe.on('error', (err: Error) => {
    socketError ??= err;
  });
  try {
    await probe.connect();
    await probe.ping();
    return null;
  } catch (err) {
    return (socketError ?? (err instanceof Error ? err : new Error(String(err)))).message;
  } finally {
    probe.disconnect();
  }
}

/**
 * A `before` hook body: skips the enclosing suite, saying so, when Redis does not answer.
 * Use as `before(async function () { await skipWithoutRedis(this); })`.
 */
export async function skipWithoutRedis(ctx: Mocha.Context): Promise<void> {
  const problem = await redisProblem();
  if (problem === null) return;
  skipBecause(ctx, `Redis does not answer at ${REDIS_URL} (${problem})`);
}

/** A key or channel prefix no other run uses. */
export const randomPrefix = (): string => `ddpguard-test:${randomBytes(6).toString('hex')}:`;

/** Deletes every key starting with `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
