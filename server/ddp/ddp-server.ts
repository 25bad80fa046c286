/**
 * The DDP server: HTTP + WebSocket transport, sessions, registries and the hook pipeline, with
 * `listen()` and a graceful `close()`. Accounts and the 2FA guard plug into it from `index.ts`.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { POSTGRES_DEFAULTS } from '../storage/postgres/connection.js';
import { isPostgresSpec } from '../storage/open.js';
import { passwordPoolSize } from '../security/password-hasher.js';
import { CLOSE_CODES } from '../../protocol/constants.js';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from '../services/options.js';
import { createJsonLogger, errorFields, type Logger } from '../runtime/logger.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { MethodRegistry, type MethodDefinitions } from '../calls/method-registry.js';
import { PublicationRegistry, type PublicationOptions, type PublishHandler } from '../calls/publication-registry.js';
import { Pipeline, type Hook } from '../calls/pipeline.js';
import { Dispatcher } from '../calls/dispatcher.js';
import { RateLimiter, ruleForMethod, type RateLimitCounters, type RateLimitRule } from '../calls/rate-limit.js';
import { rateLimitHook } from '../hooks/rate-limit.js';
import { requireUserHook } from '../hooks/require-user.js';
import { paramsHook } from '../hooks/params.js';
import { Session } from './session.js';
import { SessionConnection } from './session-connection.js';
import type { ConnectionInfo } from '../calls/connection-info.js';
import { Sweeper } from './sweeper.js';
import { WebSocketTransport } from '../transport/websocket.js';
import { HttpRouter, type RouteHandler } from '../transport/http-routes.js';
import { DescriptorGuard, type DescriptorState } from '../transport/descriptor-limit.js';
import type { ServerCore } from './server-core.js';
import type { Caller } from '../calls/caller.js';

/** Live counts, for leak checks, metrics and health. */
export interface ServerStats {
  sockets: number;
  sessions: number;
  methodsInFlight: number;
  queuedMessages: number;
  subscriptions: number;
  documents: number;
  timers: number;
}

/**
 * DDP messages received and sent since start: plain numbers, so counting costs an increment.
 * Sessions add to them; metrics read them when scraped.
 */
export interface TrafficCounters {
  messagesIn: number;
  messagesOut: number;
}

/** Calls made by the server itself: no connection, no user, no rate limit. */
const SERVER_CALLER: Caller = Object.freeze({
  transport: 'internal' as const,
  connection: null,
  userId: null,
  login: null,
  setUser: async (): Promise<void> => {
    throw new Error('setUserId is not available in calls made by the server itself');
  },
});

export class DdpServer implements ServerCore<Session> {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly registry = new MethodRegistry();
  readonly publications = new PublicationRegistry();
  readonly pipeline = new Pipeline();
  readonly dispatcher: Dispatcher;
  readonly rateLimiter: RateLimiter;
  readonly http: HttpRouter;
  readonly traffic: TrafficCounters = { messagesIn: 0, messagesOut: 0 };
  private readonly allSessions = new Set<Session>();
  /** One timer for every session's handshake timeout and heartbeats. */
  private readonly sweeper: Sweeper;
  private readonly httpServer: HttpServer;
  private readonly transport: WebSocketTransport;
  private readonly descriptorGuard: DescriptorGuard;
  private shuttingDown = false;
  private closing: Promise<void> | null = null;
  private readonly startup: (() => Promise<void>)[] = [];
  private readonly teardown: (() => Promise<void>)[] = [];
  private readonly sessionListeners: { started: ((s: Session) => void)[]; ended: ((s: Session) => void)[] } = { started: [], ended: [] };

  constructor(options: ServerOptions = {}, rateLimitCounters?: RateLimitCounters) {
    this.options = resolveOptions(options);
    this.logger = options.logger ?? createJsonLogger('info');
    this.clock = options.clock ?? systemClock;
    this.dispatcher = new Dispatcher(this.registry, this.pipeline);
    this.rateLimiter = new RateLimiter(rateLimitCounters);
    this.pipeline.add(rateLimitHook(this.rateLimiter, this.clock));
    this.pipeline.add(requireUserHook());
    this.pipeline.add(paramsHook());
    this.http = new HttpRouter((err, req) => this.logger.error({ url: req.url, ...errorFields(err) }, 'HTTP handler failed'), this.options.sockjs);
    this.httpServer = createHttpServer((req, res) => this.http.handle(req, res));
    this.httpServer.on('clientError', (_err, socket) => socket.destroy());
    this.descriptorGuard = new DescriptorGuard(this.httpServer, this.logger, {
      // The hasher's pool as services/services.ts sizes it, and the PostgreSQL store's default pool.
      passwordWorkers: passwordPoolSize(this.options.passwordWorkers),
      databaseConnections: isPostgresSpec(this.options.db) ? POSTGRES_DEFAULTS.poolSize : 0,
      redis: this.options.redisUrl !== null,
    });
    this.transport = new WebSocketTransport(this.options, (socket) => {
      const session = new Session(this, socket);
      this.allSessions.add(session);
      return session;
    }, this.logger);
    this.transport.attach(this.httpServer);
    const { handshakeTimeoutMs, heartbeatIntervalMs, heartbeatTimeoutMs } = this.options;
    this.sweeper = new Sweeper(this.allSessions, [handshakeTimeoutMs, heartbeatIntervalMs, heartbeatIntervalMs > 0 ? heartbeatTimeoutMs : 0]);
  }

  /** Register methods. */
  methods(definitions: MethodDefinitions): void {
    this.registry.add(definitions);
    for (const [name, spec] of Object.entries(definitions)) {
      if (typeof spec !== 'function' && spec.rateLimit) this.rateLimiter.addRule(ruleForMethod(name, spec.rateLimit));
    }
  }

  /** Register a publication; `null` publishes to every connection. */
  publish(name: string | null, handler: PublishHandler, options?: PublicationOptions): void {
    this.publications.add(name, handler, options);
  }

  /** Add a hook to the pipeline. */
  addHook(hook: Hook): void {
    this.pipeline.add(hook);
  }

  /** Add a rate-limit rule (Meteor's `DDPRateLimiter.addRule`); returns its id. */
  addRateLimitRule(rule: RateLimitRule): number {
    return this.rateLimiter.addRule(rule);
  }

  removeRateLimitRule(id: number): boolean {
    return this.rateLimiter.removeRule(id);
  }

  /** Add an HTTP route on the server's port. */
  route(method: string, path: string, handler: RouteHandler): void {
    this.http.add(method, path, handler);
  }

  /** Call a method as the server itself (no user, no connection). */
  async call(name: string, ...params: unknown[]): Promise<unknown> {
    return this.dispatcher.invoke({ name, params, caller: SERVER_CALLER });
  }

  /** Run `fn` for each session that completes its handshake / closes. */
  onSession(event: 'started' | 'ended', fn: (session: Session) => void): void {
    this.sessionListeners[event].push(fn);
  }

  /** The DDP session behind a `this.connection` object (streams write their frames to it). */
  sinkOf(connection: ConnectionInfo): Session | null {
    const owner = SessionConnection.ownerOf(connection);
    return owner instanceof Session ? owner : null;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  sessionStarted(session: Session): void {
    for (const fn of this.sessionListeners.started) fn(session);
  }

  socketClosed(session: Session, wasConnected: boolean): void {
    this.allSessions.delete(session);
    if (!wasConnected) return;
    for (const fn of this.sessionListeners.ended) fn(session);
  }

  stats(): ServerStats {
    const stats: ServerStats = { sockets: this.transport.size, sessions: 0, methodsInFlight: 0, queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 };
    for (const session of this.allSessions) {
      if (session.isConnected) stats.sessions++;
      const c = session.counts();
      stats.methodsInFlight += c.methodsInFlight;
      stats.queuedMessages += c.queued;
      stats.subscriptions += c.subscriptions;
      stats.documents += c.documents;
      stats.timers += c.timers;
    }
    return stats;
  }

  /** Run `fn` before `listen()` binds (open the store...); a failure fails `listen()`. */
  beforeListen(fn: () => Promise<void>): void {
    this.startup.push(fn);
  }

  /** Run `fn` at the end of `close()` (close the store...). */
  afterClose(fn: () => Promise<void>): void {
    this.teardown.push(fn);
  }

  /** Visit every live session (used to end sessions whose tokens were revoked). */
  forEachSession(fn: (session: Session) => void): void {
    for (const session of this.allSessions) fn(session);
  }

  /**
   * Start listening; resolves with the bound address. A port in use is a clear error, found
   * before the start-up steps run (opening the store, the mailer...), so it is the first and
   * only thing said rather than a failure after "services ready".
   */
  async listen(): Promise<AddressInfo> {
    if (this.options.port !== 0) await this.probePort();
    for (const fn of this.startup) await fn();
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(this.listenError(err));
      this.httpServer.once('error', onError);
      this.sweeper.start();
    this.httpServer.listen(this.options.port, this.options.host, () => {
        this.httpServer.off('error', onError);
        this.descriptorGuard.start();
        const address = this.httpServer.address() as AddressInfo;
        this.logger.info({ host: address.address, port: address.port }, `listening on ${this.url}`);
        resolve(address);
      });
    });
  }

  /** Binds the port for a moment and lets it go: fails now if another process holds it. */
  private probePort(): Promise<void> {
    return new Promise((resolve, reject) => {
      const probe = createNetServer();
      probe.once('error', (err: NodeJS.ErrnoException) => reject(this.listenError(err)));
      probe.listen({ port: this.options.port, host: this.options.host, exclusive: true }, () => probe.close(() => resolve()));
    });
  }

  private listenError(err: NodeJS.ErrnoException): Error {
    const where = `Port ${this.options.port} on ${this.options.host}`;
    if (err.code === 'EADDRINUSE') return new Error(`${where} is already in use: stop the other process or choose another port (--port)`);
    if (err.code === 'EACCES') return new Error(`${where} needs privileges this process does not have: choose a port above 1023 (--port)`);
    if (err.code === 'EADDRNOTAVAIL') return new Error(`${this.options.host} is not an address of this machine: choose another --host`);
    return err;
  }

  /** The open-file limit and the connections refused at it. */
  descriptors(): DescriptorState {
    return this.descriptorGuard.state();
  }

  /** The bound address, or null before `listen()`. */
  address(): AddressInfo | null {
    const a = this.httpServer.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** `ws://host:port/websocket`. */
  get url(): string {
    const a = this.address();
    if (!a) throw new Error('The server is not listening yet: call listen() first');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `ws://${host}:${a.port}/websocket`;
  }

  /**
   * Graceful close: stop accepting connections and new methods, let in-flight methods finish
   * (up to `shutdownTimeoutMs`), then close every socket with 1001.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    // A server that never listened (its port was taken, a start-up step failed) did not start:
    // saying it closed would bury the one line that says why.
    const started = this.httpServer.listening;
    const serverClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    const deadline = Date.now() + this.options.shutdownTimeoutMs;
    while (this.runningMethods() > 0 && Date.now() < deadline) await delay(10);
    for (const session of this.allSessions) session.close(CLOSE_CODES.goingAway, 'Server shutting down');
    const socketsDeadline = Date.now() + 1000;
    while (this.transport.size > 0 && Date.now() < socketsDeadline) await delay(10);
    this.transport.close();
    this.sweeper.stop();
    this.descriptorGuard.stop();
    this.httpServer.closeAllConnections();
    await serverClosed;
    for (const fn of this.teardown) await fn();
    if (started) this.logger.info({}, 'server closed');
  }

  private runningMethods(): number {
    let n = 0;
    for (const session of this.allSessions) n += session.counts().methodsInFlight;
    return n;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
