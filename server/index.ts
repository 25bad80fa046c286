/**
 * ddp-guard/server: create a DDP server with accounts and the 2FA guard in front of every
 * method registered with `twoFactor`.
 */
import { GuardServer } from './guard-server.js';
import type { ServerOptions } from './services/options.js';

export { DdpServer, type ServerStats } from './ddp/ddp-server.js';
export { GuardServer } from './guard-server.js';
export { DEFAULTS, OptionError, resolveOptions, type ServerOptions, type ResolvedOptions } from './services/options.js';
export { DdpError } from '../protocol/errors.js';
export { Match, check, MatchError, type Pattern } from './calls/match.js';
export type { MethodThis, MethodDefinitions, MethodSpec, MethodOptions, TwoFactorOptions } from './calls/method-registry.js';
export type { SubscriptionThis, PublicationSource, PublicationSink, PublishHandler, PublicationOptions } from './calls/publication-registry.js';
export type { Hook, CallContext, MethodCall, SubscriptionCall } from './calls/pipeline.js';
export { HOOK_ORDER } from './calls/pipeline.js';
export type { RateLimitRule, RateLimitSpec } from './calls/rate-limit.js';
export type { ConnectionInfo } from './calls/connection-info.js';
export { createJsonLogger, createPinoLogger, silentLogger, type Logger, type LogLevel, type PinoLoggerOptions } from './runtime/logger.js';
export { Observability, Metrics, METRIC_PREFIX } from './observability/index.js';
export { ManualClock, systemClock, type Clock } from './runtime/clock.js';
export type { Store } from './storage/contract.js';
export type { Mailer } from './mail/mailer.js';
export { Stream, type StreamOptions, type StreamRule, type StreamRuleContext } from './streams/index.js';

/** Create a server. Options are validated now; a bad one throws `OptionError` naming it. */
export function createServer(options: ServerOptions = {}): GuardServer {
  return new GuardServer(options);
}
