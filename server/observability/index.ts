/**
 * Observability of a ddp-guard server: structured logs of method calls and connections,
 * Prometheus metrics at `/metrics` (on the main port, or on a listener of its own with
 * `metricsPort`), and the `/healthz` and `/readyz` checks. Everything is observed from outside
 * the core: the dispatcher's method observer, session events, the guard's events, a mailer
 * decorator and the server's counters.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer } from '../services/services.js';
import type { TwoFactorGuard } from '../two-factor/guard.js';
import type { Mailer } from '../mail/mailer.js';
import { HttpRouter, sendJson } from '../transport/http-routes.js';
import { errorFields } from '../runtime/logger.js';
import { OptionError } from '../services/options.js';
import { connectionLogger, methodLogObserver, type ObservedSession } from './logs.js';
import { Metrics } from './metrics.js';
import { SecurityLog, type SecurityLogOptions } from './security-log.js';
import { HealthChecks, type HealthOptions } from './health.js';

export { Metrics, METRIC_PREFIX, type MetricsSource } from './metrics.js';
export { HealthChecks, type Readiness, type HealthOptions } from './health.js';
export { methodLogObserver, connectionLogger } from './logs.js';
export { SecurityLog, SECURITY_LOG_WINDOW_MS, securityEventOf, type SecurityEventKind, type SecurityLogOptions } from './security-log.js';

/** Connections the separate metrics listener holds at once; more are closed on arrival. */
export const METRICS_MAX_CONNECTIONS = 16;

export class Observability {
  /** The metrics (`null` with `metrics: false`); register application metrics on `metrics.registry`. */
  readonly metrics: Metrics | null;
  /** The readiness and liveness checks (`null` with `healthChecks: false`). */
  readonly health: HealthChecks | null = null;
  /** Security events (lock-outs, replays, refused tokens...), summarised per kind. */
  readonly securityLog: SecurityLog;
  private container: ServiceContainer | null = null;
  private listener: HttpServer | null = null;

  constructor(private readonly server: DdpServer, healthOptions: HealthOptions = {}, securityLogOptions: SecurityLogOptions = {}) {
    const { options, logger } = server;
    if (options.metricsPort !== 0 && options.metricsPort === options.port) {
      throw new OptionError('metricsPort', `must differ from port (${options.port}); 0 serves /metrics on the main port`);
    }
    server.dispatcher.observe(methodLogObserver(logger));
    this.securityLog = new SecurityLog(logger, securityLogOptions);
    server.dispatcher.observe(this.securityLog.observer());
    const connections = connectionLogger(logger);
    server.onSession('started', (session) => connections.opened(session as ObservedSession));
    server.onSession('ended', (session) => connections.closed(session as ObservedSession));
    this.metrics = options.metrics
      ? new Metrics({
        stats: () => server.stats(),
        traffic: server.traffic,
        connectionsRefused: () => server.descriptors().refused,
        passwordQueueLength: () => this.container?.peek()?.hasher.queueLength() ?? 0,
      })
      : null;
    if (this.metrics) {
      const metrics = this.metrics;
      server.dispatcher.observe(metrics.methodObserver());
      server.onSession('started', () => metrics.sessionStarted());
    }
    if (options.healthChecks) {
      this.health = new HealthChecks({
        isShuttingDown: () => server.isShuttingDown(),
        atDescriptorLimit: () => server.descriptors().atLimit,
        services: () => this.container?.peek() ?? null,
        checkMail: options.smtpUrl !== null,
        logger,
      }, healthOptions);
    }
  }

  /** For `ServiceOverrides.decorateMailer`: counts mail sent and failed. */
  readonly decorateMailer = (mailer: Mailer): Mailer => (this.metrics ? this.metrics.countMail(mailer) : mailer);

  /** Add the routes and start-up steps; `guard` is subscribed to once the services are open. */
  install(services: ServiceContainer, guard: () => Promise<TwoFactorGuard>): void {
    this.container = services;
    const { server, metrics } = this;
    const separate = server.options.metricsPort !== 0;
    this.addRoutes(server.http, !separate);
    server.beforeListen(async () => {
      if (metrics) {
        (await guard()).onEvent((event, factor) => metrics.guardEvent(event, factor));
        metrics.start();
      }
      if (separate && (metrics || this.health)) await this.listenSeparately();
    });
    server.afterClose(async () => {
      this.securityLog.close();
      metrics?.stop();
      await this.closeListener();
    });
  }

  /** The separate metrics listener's address (`metricsPort`), or null. */
  metricsAddress(): AddressInfo | null {
    const a = this.listener?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** `/healthz` and `/readyz` (when on), and `/metrics` (when on and `withMetrics`). */
  private addRoutes(router: HttpRouter, withMetrics: boolean): void {
    const { health, metrics } = this;
    if (health) {
      router.add('GET', '/healthz', (_req, res) => sendJson(res, 200, health.live()));
      router.add('GET', '/readyz', async (_req, res) => {
        const readiness = await health.ready();
        sendJson(res, readiness.status === 'ok' ? 200 : 503, readiness);
      });
    }
    if (metrics && withMetrics) {
      router.add('GET', '/metrics', async (_req, res) => {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(body);
      });
    }
  }

  private async listenSeparately(): Promise<void> {
    const { options, logger } = this.server;
    const router = new HttpRouter((err, req) => logger.error({ url: req.url, ...errorFields(err) }, 'metrics handler failed'), false);
    this.addRoutes(router, true);
    const listener = createHttpServer((req, res) => router.handle(req, res));
    // Scrapers and health probes need a few connections; a flood of them must not spend the
    // descriptors the DDP port and the store need (they come out of BASE_RESERVE).
    listener.maxConnections = METRICS_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE'
          ? new Error(`Port ${options.metricsPort} on ${options.host} (metricsPort) is already in use: stop the other process or choose another port`)
          : err);
      });
      listener.listen(options.metricsPort, options.host, () => resolve());
    });
    this.listener = listener;
    const a = this.metricsAddress();
    logger.info({ host: a?.address, port: a?.port }, `metrics and health checks on http://${options.host}:${a?.port ?? options.metricsPort}`);
  }

  private async closeListener(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    await new Promise<void>((resolve) => {
      listener.close(() => resolve());
      listener.closeAllConnections();
    });
  }
}
