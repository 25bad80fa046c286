/**
 * What several server processes share through Redis: rate-limit counters and cross-process
 * events.
 * @module
 */
export { DEFAULT_PUBSUB_PREFIX, RedisPubSub, type PubSubHandler, type RedisPubSubOptions, type Unsubscribe } from './pubsub.js';
export {
  DEFAULT_RATE_LIMIT_PREFIX,
  RedisRateLimitCounters,
  type RedisRateLimitCountersOptions,
} from './rate-limit-counters.js';
