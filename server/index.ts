/**
 * ddp-guard/server: create a DDP server with the 2FA guard in front of every method.
 */
import { DdpServer } from './ddp-server.js';
import type { ServerOptions } from './options.js';

export { DdpServer, type ServerStats } from './ddp-server.js';
export { DEFAULTS, OptionError, resolveOptions, type ServerOptions, type ResolvedOptions } from './options.js';
export { DdpError } from '../protocol/errors.js';
export { Match, check, MatchError, type Pattern } from './match.js';
export type { MethodThis, MethodDefinitions, MethodSpec, MethodOptions, TwoFactorOptions } from './methods.js';
export type { SubscriptionThis, PublicationSource, PublicationSink, PublishHandler, PublicationOptions } from './publications/registry.js';
export type { Hook, CallContext, MethodCall, SubscriptionCall } from './pipeline.js';
export { HOOK_ORDER } from './pipeline.js';
export type { RateLimitRule, RateLimitSpec } from './rate-limit.js';
export type { ConnectionInfo } from './connection-info.js';
export { createJsonLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export { ManualClock, systemClock, type Clock } from './clock.js';

/** Create a server. Options are validated now; a bad one throws `OptionError` naming it. */
export function createServer(options: ServerOptions = {}): DdpServer {
  return new DdpServer(options);
}
