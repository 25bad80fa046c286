/**
 * Rate-limit counters in Redis, shared by every server process: one fixed window per key,
 * counted by a Lua script so the increment and the start of the window are one atomic step.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimitCounters } from '../calls/rate-limit.js';
import { StoreUnavailableError } from '../storage/store-errors.js';

/** Options of {@link RedisRateLimitCounters}. */
export interface RedisRateLimitCountersOptions {
  /**
   * Put before every key, so several applications (or test runs) can share one Redis.
   * @default 'ddp-guard:rl:'
   */
  prefix?: string;
}

/** The default of {@link RedisRateLimitCountersOptions.prefix}. */
export const DEFAULT_RATE_LIMIT_PREFIX = 'ddp-guard:rl:';

/**
 * INCR, and start the window when the key has no expiry yet (it was just created). PTTL is
 * read in the same script, so every process sees the window the first hit started.
 * Returns `{count, msLeft}`.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;
const HIT_SHA = createHash('sha1').update(HIT_SCRIPT).digest('hex');

/**
 * `RateLimitCounters` on Redis (ioredis), for several processes behind a load balancer: two
 * processes counting the same key add up. Windows are timed by Redis (the key's expiry), so
 * `resetAt` is the caller's `now` plus the time Redis says is left.
 *
 * The client is the caller's: this class never closes it. Give it a bounded retry policy
 * (`maxRetriesPerRequest`, `commandTimeout`) so a Redis outage fails calls instead of
 * holding them.
 */
export class RedisRateLimitCounters implements RateLimitCounters {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisRateLimitCountersOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_RATE_LIMIT_PREFIX;
  }

  /** The Redis key a counter key is stored under. */
  redisKey(key: string): string {
    return this.prefix + key;
  }

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    if (!Number.isInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
    const redisKey = this.redisKey(key);
    let reply: unknown;
    try {
      try {
        // The script is cached by Redis after the first EVAL; send only its hash from then on.
        reply = await this.redis.evalsha(HIT_SHA, 1, redisKey, windowMs);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        reply = await this.redis.eval(HIT_SCRIPT, 1, redisKey, windowMs);
      }
    } catch (err) {
      // Redis away (refused, timed out, reconnecting): the call is refused with 503, not 500,
      // and may be tried again; nothing was counted.
      throw new StoreUnavailableError(`Redis does not answer the rate-limit counter: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
      throw new Error(`Unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
    }
    return { count: reply[0], resetAt: now + reply[1] };
  }
}
