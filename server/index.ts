/**
 * ddp-guard/server: create a DDP server with accounts and the 2FA guard in front of every
 * method registered with `twoFactor`.
 */
import { DdpServer } from './ddp/ddp-server.js';
import type { ServerOptions } from './services/options.js';
import { ServiceContainer } from './services/services.js';
import { TwoFactorGuard } from './two-factor/guard.js';
import { twoFactorHook } from './two-factor/hook.js';
import { installTwoFactorMethods } from './built-ins/two-factor-methods.js';
import { installPersonalTokenMethods } from './built-ins/personal-tokens.js';
import { installAccountMethods } from './built-ins/account-methods.js';
import { installSessionMethods } from './built-ins/session-methods.js';
import { publishOwnUser } from './built-ins/user-publication.js';
import { RevocationWatcher, type SessionEnumerator } from './accounts/revocations.js';
import { publishLoginServiceConfiguration } from './built-ins/login-services.js';
import { installHttpApi } from './http-api/routes.js';
import { Observability } from './observability/index.js';
import { StreamRegistry, type Stream, type StreamOptions } from './streams/index.js';
import { multiProcessLink } from './multi-process/index.js';
import { installAccountPage } from './web/account-page.js';

export { DdpServer, type ServerStats } from './ddp/ddp-server.js';
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

/** A ddp-guard server: the DDP server plus accounts, the 2FA guard and its services. */
export interface GuardServer extends DdpServer {
  /** The store, mailer, hasher and keys, opened on first use (at the latest by `listen()`). */
  readonly services: ServiceContainer;
  /** The 2FA guard (after `listen()`). */
  guard(): Promise<TwoFactorGuard>;
  /** Metrics (register application metrics on `observability.metrics.registry`), health checks and log observers. */
  readonly observability: Observability;
  /** Declare a stream of Rocket.Chat's Realtime API: subscription and method `stream-<name>`. */
  stream(name: string, options?: StreamOptions): Stream;
}

/** How often expired login tokens and one-time codes are deleted (Meteor sweeps hourly too). */
const SWEEP_INTERVAL_MS = 3600_000;

/** Revocation entries are kept this long: enough for every process to read them. */
const REVOCATION_RETENTION_MS = 3600_000;
/** Per-address counters idle this long are forgotten (their failures long since forgiven). */
const ADDRESS_COUNTER_RETENTION_MS = 7 * 24 * 3600_000;

async function sweepExpired(container: ServiceContainer): Promise<void> {
  const services = await container.get();
  const now = new Date(services.clock.now());
  try {
    const tokens = await services.store.loginTokens.removeExpired(now);
    const codes = await services.store.codes.removeExpired(now);
    await services.store.revocations.removeOlderThan(new Date(now.getTime() - REVOCATION_RETENTION_MS));
    await services.store.addressAttempts.removeIdle(new Date(now.getTime() - ADDRESS_COUNTER_RETENTION_MS));
    if (tokens + codes > 0) services.logger.info({ tokens, codes }, 'removed expired login tokens and codes');
  } catch (err) {
    services.logger.warn({ err: String(err) }, 'could not remove expired tokens and codes; will try again');
  }
}

/** Create a server. Options are validated now; a bad one throws `OptionError` naming it. */
export function createServer(options: ServerOptions = {}): GuardServer {
  // With `redisUrl`: rate-limit counters, user events and stream events shared with other processes.
  const link = multiProcessLink(options, () => server.logger);
  const server = new DdpServer(options, link?.counters);
  const observability = new Observability(server);
  const services = new ServiceContainer(server.options, server.logger, server.clock, {
    ...(options.store ? { store: options.store } : {}),
    ...(options.mailer ? { mailer: options.mailer } : {}),
    decorateMailer: observability.decorateMailer,
    ...(link ? { userEvents: link.userEvents } : {}),
  });
  let guardInstance: Promise<TwoFactorGuard> | null = null;
  let readyGuard: TwoFactorGuard | null = null;
  const guard = (): Promise<TwoFactorGuard> => (guardInstance ??= services.get().then((s) => (readyGuard = new TwoFactorGuard(s))));
  const each: SessionEnumerator = (fn) => server.forEachSession(fn);
  const revocations = new RevocationWatcher({
    feed: async () => (await services.get()).store.revocations,
    each,
    logger: () => server.logger,
    pollMs: server.options.revocationPollMs,
    ...(link ? { nudgeOthers: () => link.nudgeRevocations() } : {}),
  });
  link?.onRevocationNudge(() => void revocations.sync().catch(() => undefined));

  server.addHook(twoFactorHook(services, guard, () => readyGuard));
  installAccountMethods(server, services, guard, TwoFactorGuard, revocations);
  installTwoFactorMethods(server, services, guard, revocations);
  installPersonalTokenMethods(server, services, revocations);
  installSessionMethods(server, services, revocations);
  publishOwnUser(server, services);
  publishLoginServiceConfiguration(server);
  installHttpApi(server, services);
  observability.install(services, guard);
  if (server.options.accountPage) installAccountPage(server);
  const streams = new StreamRegistry(server, link);
  link?.onStreamEvent((stream, eventName, args) => streams.receive(stream, eventName, args));
  let sweeper: NodeJS.Timeout | null = null;
  server.beforeListen(async () => {
    await link?.start();
    await guard();
    await revocations.start();
    await sweepExpired(services);
    sweeper = setInterval(() => void sweepExpired(services), SWEEP_INTERVAL_MS);
    sweeper.unref();
  });
  server.afterClose(async () => {
    if (sweeper) clearInterval(sweeper);
    revocations.stop();
    await services.close();
    await link?.close();
  });
  return Object.assign(server, { services, guard, observability, stream: (name: string, opts?: StreamOptions) => streams.define(name, opts) });
}
