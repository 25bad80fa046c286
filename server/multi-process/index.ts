/**
 * Several `ddp-guard serve` processes behaving as one server: PostgreSQL for the state, Redis
 * (`redisUrl`) for rate-limit counters and cross-process events.
 * @module
 */
import type { Logger } from '../runtime/logger.js';
import { resolveOptions, type ServerOptions } from '../services/options.js';
import { MultiProcessLink } from './link.js';

export { MultiProcessLink, type MultiProcessLinkOptions } from './link.js';
export { RelayedUserEvents } from './user-events.js';

/** The link to the other processes when `redisUrl` is set, else null. Validates the options. */
export function multiProcessLink(options: ServerOptions, logger: () => Logger): MultiProcessLink | null {
  const { redisUrl, db } = resolveOptions(options);
  if (redisUrl === null) return null;
  return new MultiProcessLink({ url: redisUrl, logger, sharedStore: options.store !== undefined || /^postgres(ql)?:\/\//i.test(db.trim()) });
}
