/**
 * The ddp-guard server: the DDP server plus accounts, the 2FA guard in front of every method
 * registered with `twoFactor`, the HTTP API, observability and streams, wired together.
 */
import { DdpServer } from './ddp/ddp-server.js';
import { silentLogger, type Logger } from './runtime/logger.js';
import type { ServerOptions } from './services/options.js';
import { ServiceContainer } from './services/services.js';
import { TwoFactorGuard } from './two-factor/guard.js';
import { twoFactorHook } from './two-factor/hook.js';
import { installTwoFactorMethods } from './built-ins/two-factor-methods.js';
import { installPasskeyMethods } from './built-ins/passkey-methods.js';
import { installPersonalTokenMethods } from './built-ins/personal-tokens.js';
import { installSessionMethods } from './built-ins/session-methods.js';
import { installAccountMethods } from './built-ins/account-methods.js';
import { publishOwnUser } from './built-ins/user-publication.js';
import { RevocationWatcher } from './accounts/revocations.js';
import { publishLoginServiceConfiguration } from './built-ins/login-services.js';
import { installHttpApi } from './http-api/routes.js';
import { Observability } from './observability/index.js';
import { StreamRegistry, type Stream, type StreamOptions } from './streams/index.js';
import { multiProcessLink } from './multi-process/index.js';
import { installAccountPage } from './web/account-page.js';
import { CallMemory, type OutcomeStore } from './calls/call-memory.js';

/** How often expired login tokens, one-time codes and WebAuthn challenges are deleted (Meteor sweeps hourly too). */
const SWEEP_INTERVAL_MS = 3600_000;

/** How often call outcomes past their window are deleted: they are many, and short-lived. */
const CALL_RESULT_SWEEP_MS = 60_000;

async function sweepCallResults(container: ServiceContainer): Promise<void> {
  const services = await container.get();
  try {
    await services.store.callResults.removeExpired(new Date(services.clock.now()));
  } catch (err) {
    services.logger.warn({ err: String(err) }, 'could not remove expired call outcomes; will try again');
  }
}

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
    await services.store.webauthnChallenges.removeExpired(now);
    await services.store.revocations.removeOlderThan(new Date(now.getTime() - REVOCATION_RETENTION_MS));
    await services.store.addressAttempts.removeIdle(new Date(now.getTime() - ADDRESS_COUNTER_RETENTION_MS));
    if (tokens + codes > 0) services.logger.info({ tokens, codes }, 'removed expired login tokens and codes');
  } catch (err) {
    services.logger.warn({ err: String(err) }, 'could not remove expired tokens and codes; will try again');
  }
}

/** A ddp-guard server: the DDP server plus accounts, the 2FA guard and its services. Made by `createServer`. */
export class GuardServer extends DdpServer {
  /** The store, mailer, hasher and keys, opened on first use (at the latest by `listen()`). */
  readonly services: ServiceContainer;
  /** Metrics (register application metrics on `observability.metrics.registry`), health checks and log observers. */
  readonly observability: Observability;
  #guard: Promise<TwoFactorGuard> | null = null;
  /** The guard once made: the hook's fast path needs it without awaiting. */
  #readyGuard: TwoFactorGuard | null = null;
  readonly #streams: StreamRegistry;

  /** Options are validated now; a bad one throws `OptionError` naming it. */
  constructor(options: ServerOptions = {}) {
    // With `redisUrl`: rate-limit counters, user events and stream events shared with other
    // processes. The link is made first (the rate limiter takes its counters) and logs through
    // the server's logger once there is one (it logs nothing before it starts).
    const logger: { current: Logger } = { current: silentLogger };
    const link = multiProcessLink(options, () => logger.current);
    super(options, link?.counters);
    logger.current = this.logger;
    this.observability = new Observability(this, link ? { redis: () => link.ping() } : {});
    const services = new ServiceContainer(this.options, this.logger, this.clock, {
      ...(options.store ? { store: options.store } : {}),
      ...(options.mailer ? { mailer: options.mailer } : {}),
      decorateMailer: this.observability.decorateMailer,
      ...(link ? { userEvents: link.userEvents } : {}),
    });
    this.services = services;
    const guard = (): Promise<TwoFactorGuard> => this.guard();
    const revocations = new RevocationWatcher({
      feed: async () => (await services.get()).store.revocations,
      each: (fn) => this.forEachSession(fn),
      logger: () => this.logger,
      pollMs: this.options.revocationPollMs,
      ...(link ? { nudgeOthers: () => link.nudgeRevocations() } : {}),
    });
    link?.onRevocationNudge(() => void revocations.sync().catch(() => undefined));

    if (this.options.callResultWindowMs > 0) {
      const { callResultWindowMs: windowMs, callResultWaitMs: waitMs } = this.options;
      const outcomes = async (): Promise<OutcomeStore> => {
        const { store, callResultBox } = await services.get();
        return { results: store.callResults, box: callResultBox };
      };
      this.dispatcher.rememberCalls(new CallMemory(outcomes, this.clock, { windowMs, waitMs }, () => this.logger));
    }
    this.addHook(twoFactorHook(services, guard, () => this.#readyGuard));
    installAccountMethods(this, services, guard, TwoFactorGuard, revocations);
    installTwoFactorMethods(this, services, guard, revocations);
    installPasskeyMethods(this, services, revocations);
    installPersonalTokenMethods(this, services, revocations);
    installSessionMethods(this, services, revocations);
    publishOwnUser(this, services);
    publishLoginServiceConfiguration(this);
    installHttpApi(this, services);
    this.observability.install(services, guard);
    if (this.options.accountPage) installAccountPage(this);
    const streams = new StreamRegistry(this, link);
    this.#streams = streams;
    link?.onStreamEvent((stream, eventName, args) => streams.receive(stream, eventName, args));
    let sweeper: NodeJS.Timeout | null = null;
    let callSweeper: NodeJS.Timeout | null = null;
    this.beforeListen(async () => {
      await link?.start();
      await this.guard();
      await revocations.start();
      await sweepExpired(services);
      sweeper = setInterval(() => void sweepExpired(services), SWEEP_INTERVAL_MS);
      sweeper.unref();
      callSweeper = setInterval(() => void sweepCallResults(services), CALL_RESULT_SWEEP_MS);
      callSweeper.unref();
    });
    this.afterClose(async () => {
      if (sweeper) clearInterval(sweeper);
      if (callSweeper) clearInterval(callSweeper);
      revocations.stop();
      await services.close();
      await link?.close();
    });
  }

  /** The 2FA guard (made once the services are open; `listen()` waits for it). */
  guard(): Promise<TwoFactorGuard> {
    return (this.#guard ??= this.services.get().then((s) => (this.#readyGuard = new TwoFactorGuard(s))));
  }

  /** Declare a stream of Rocket.Chat's Realtime API: subscription and method `stream-<name>`. */
  stream(name: string, options?: StreamOptions): Stream {
    return this.#streams.define(name, options);
  }
}
