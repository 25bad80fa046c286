/**
 * ddp-guard/client: a DDP client for browsers and Node, with reconnects, calls as promises,
 * subscriptions with local collections, and the two-factor retry.
 *
 * ```ts
 * const client = new DdpClient('ws://localhost:3000/websocket', {
 *   WebSocket,                                  // the global in browsers; `ws` in Node (see client/node.ts)
 *   onTwoFactorRequired: async ({ details }) => ({ code: await askUser(details) }),
 * });
 * await client.connect();
 * await client.loginWithPassword('alice', 'secret');
 * const sum = await client.call('add', 1, 2);
 * ```
 */
import type { DdpError, Fields, ServerMessage } from '../protocol/index.js';
import { AccountHelpers } from './account-helpers.js';
import { LoginState, type LoginPassword, type LoginResult, type LoginUser } from './account.js';
import { CallManager, type CallOptions } from './calls.js';
import type { CollectionEvents, CollectionView } from './collection.js';
import { Connection, type ConnectionStatus, type DisconnectInfo, type ReconnectInfo } from './connection.js';
import { Emitter } from './emitter.js';
import { normalizeClientOptions, type DdpClientOptions, type ResolvedClientOptions } from './options.js';
import { toWebSocketUrl } from './socket.js';
import { clientError } from './errors.js';
import { SubscriptionManager, type SubscribeOptions, type SubscriptionHandle } from './subscriptions.js';
import { callWithTwoFactor } from './two-factor.js';

export { CLIENT_DEFAULTS, type DdpClientOptions } from './options.js';
export { CLIENT_ERRORS, type ClientErrorName } from './errors.js';
export type { CallOptions } from './calls.js';
export type { ConnectionStatus, DisconnectInfo, ReconnectInfo } from './connection.js';
export type { AddedEvent, ChangedEvent, CollectionView, Doc, RemovedEvent } from './collection.js';
export type { SubscribeOptions, SubscriptionHandle } from './subscriptions.js';
export type { LoginPassword, LoginResult, LoginUser } from './account.js';
export type { AccessTokenInfo, TotpEnrolment } from './account-helpers.js';
export type { SecurityLogEntry, SecurityLogPage, SessionInfo } from '../protocol/account.js';
export { AccountHelpers } from './account-helpers.js';
export type { TwoFactorAnswer, TwoFactorChallenge, TwoFactorHandler } from './two-factor.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { sha256Hex } from './sha256.js';
export { addPasskey, passkeyAssertion, passkeyHandler, signInWithPasskey, type PasskeyClient } from './passkey.js';
export { DdpError } from '../protocol/index.js';
export { DdpHttpClient, DdpHttpError, HTTP_CLIENT_DEFAULTS, type DdpHttpClientOptions, type HttpCredentials, type HttpLoginUser, type FetchFunction } from './http.js';

/**
 * The methods a server offers, for typed calls: `new DdpClient<{ add(a: number, b: number): number }>(…)`.
 * Parameters are checked contravariantly through `never[]`, so any function type fits without `any`.
 */
export type MethodShape<M> = { [K in keyof M]: (...args: never[]) => unknown };

/** The default, untyped method map: any name, any parameters, an `unknown` result. */
export type MethodMap = Record<string, (...args: unknown[]) => unknown>;

/** Parameters of a method of the map. */
export type MethodParams<F> = F extends (...args: infer P) => unknown ? P : never;

/** What a call of a method of the map resolves to. */
export type MethodResult<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Events of a {@link DdpClient}. */
export interface DdpClientEvents extends CollectionEvents {
  status: [status: ConnectionStatus];
  connecting: [];
  /** Connected and logged back in (if there was a login); subscriptions re-sent, queued calls flushed. */
  connected: [sessionId: string];
  disconnected: [info: DisconnectInfo];
  reconnecting: [info: ReconnectInfo];
  closed: [];
  /** Problems no promise reports: frames the client cannot read, `{msg:'error'}` from the server. */
  error: [error: DdpError];
  login: [result: LoginResult];
  logout: [];
  // Inherited: `added`, `changed`, `removed` for documents of any collection.
}

/** A DDP client. */
export class DdpClient<M extends MethodShape<M> = MethodMap> extends Emitter<DdpClientEvents> {
  /** Two-factor and personal-access-token operations of the logged-in user. */
  readonly account: AccountHelpers;
  readonly #options: ResolvedClientOptions;
  readonly #connection: Connection;
  readonly #calls: CallManager;
  readonly #subs: SubscriptionManager;
  readonly #login: LoginState;

  /**
   * @param url `ws(s)://host:port/websocket`, or `http(s)://host:port` as Meteor accepts
   * @param options see {@link DdpClientOptions}; checked here, a bad value throws a `TypeError`
   */
  constructor(url: string, options: DdpClientOptions = {}) {
    super();
    this.#options = normalizeClientOptions(options);
    const o = this.#options;
    this.#connection = new Connection(toWebSocketUrl(url), {
      WebSocket: o.WebSocket,
      connectTimeoutMs: o.connectTimeoutMs,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      reconnect: o.reconnect,
      retryFirstConnect: o.retryFirstConnect,
      backoff: { minDelayMs: o.minDelayMs, maxDelayMs: o.maxDelayMs, factor: o.backoffFactor, jitter: o.backoffJitter, random: o.random },
      onSession: (sessionId) => this.#onSession(sessionId),
    });
    const connection = this.#connection;
    this.#calls = new CallManager({ sendText: (text) => connection.sendText(text) }, o);
    this.#subs = new SubscriptionManager({ send: (message) => connection.send(message) }, {
      added: (event) => this.emit('added', event),
      changed: (event) => this.emit('changed', event),
      removed: (event) => this.emit('removed', event),
    });
    this.#login = new LoginState(
      // A login changes the connection, not data: one lost in a drop is not sent again (the
      // re-login after the reconnect uses the resume token; a spent 2FA code would fail anyway).
      (method, params) => this.#invoke(method, params, { retryable: false }, false),
      (method, params) => this.#invoke(method, params, { retryable: false }, true),
    );
    this.account = new AccountHelpers((method, params, options) => this.#invoke(method, params, options ?? {}, false));
    this.#wire();
  }

  /** Where the connection stands. */
  get status(): ConnectionStatus {
    return this.#connection.status;
  }

  /** The server's session id while connected. */
  get sessionId(): string | undefined {
    return this.#connection.sessionId;
  }

  /** The logged-in user's id, or undefined. */
  get userId(): string | undefined {
    return this.#login.userId;
  }

  /** The current login (id, resume token, expiry), or undefined. Store the token to resume later. */
  get currentLogin(): LoginResult | undefined {
    return this.#login.current;
  }

  /**
   * Connect, and resolve once connected (and logged back in, if there was a login). Rejects
   * when the first attempt fails (unless `retryFirstConnect`), on a version mismatch, or on
   * `close()`. After a first success the client reconnects on its own.
   */
  connect(): Promise<void> {
    return this.#connection.open();
  }

  /** Try to reconnect now rather than after the backoff delay. */
  reconnect(): void {
    this.#connection.reconnectNow();
  }

  /**
   * Close for good: pending and queued calls reject with `client-closed`, subscriptions stop,
   * no more reconnects.
   */
  close(): void {
    this.#calls.close();
    this.#subs.close();
    this.#connection.close();
  }

  /** Call a method. Two-factor challenges go to `onTwoFactorRequired`. */
  call<K extends keyof M & string>(name: K, ...params: MethodParams<M[K]>): Promise<MethodResult<M[K]>> {
    return this.apply(name, params);
  }

  /** Call a method with per-call options (timeout, retryable, wait for `updated`, two-factor). */
  apply<K extends keyof M & string>(name: K, params: MethodParams<M[K]>, options: CallOptions = {}): Promise<MethodResult<M[K]>> {
    // The method map is the application's promise about result types; the wire cannot check it.
    return this.#invoke(name, [...params], options, false) as Promise<MethodResult<M[K]>>;
  }

  /** Subscribe to a publication. */
  subscribe(name: string, ...params: unknown[]): SubscriptionHandle {
    return this.#subs.subscribe(name, params, {});
  }

  /** Subscribe with `onReady`/`onStop` callbacks. */
  subscribeWith(name: string, params: unknown[], options: SubscribeOptions): SubscriptionHandle {
    return this.#subs.subscribe(name, params, options);
  }

  /**
   * The local view of a collection. `T` describes the documents' fields; it is the
   * application's promise, not checked.
   */
  collection<T extends Fields = Fields>(name: string): CollectionView<T> {
    return this.#subs.collection(name) as unknown as CollectionView<T>;
  }

  /** Log in with a username (or an email, when it contains `@`, or a selector) and a password. */
  loginWithPassword(user: LoginUser, password: LoginPassword): Promise<LoginResult> {
    return this.#login.loginWithPassword(user, password);
  }

  /** Log in with a resume token or a personal access token. */
  loginWithToken(token: string): Promise<LoginResult> {
    return this.#login.loginWithToken(token);
  }

  /** Sign in with a passkey assertion for `passkey:loginOptions`' challenge (see `signInWithPasskey`). */
  loginWithPasskey(response: unknown): Promise<LoginResult> {
    return this.#login.login({ passkey: { response } });
  }

  /** Log out, on the server and locally. */
  logout(): Promise<void> {
    return this.#login.logout();
  }

  #invoke(method: string, params: unknown[], options: CallOptions, now: boolean): Promise<unknown> {
    const attempt = (p: unknown[]): Promise<unknown> => (now ? this.#calls.applyNow(method, p, options) : this.#calls.apply(method, p, options));
    if (options.twoFactor === false) return attempt(params);
    return callWithTwoFactor(method, params, attempt, { handler: this.#options.onTwoFactorRequired, maxAttempts: this.#options.maxTwoFactorAttempts });
  }

  /** After each handshake: re-login first, then subscriptions, then the queued calls. */
  async #onSession(sessionId: string): Promise<void> {
    await this.#login.relogin();
    // The socket may have dropped during the re-login; the next session will do this.
    if (this.#connection.sessionId !== sessionId) return;
    this.#subs.resubscribe();
    this.#calls.openGate();
  }

  #route(message: ServerMessage): void {
    switch (message.msg) {
      case 'result':
        this.#calls.handleResult(message);
        return;
      case 'updated':
        this.#calls.handleUpdated(message);
        return;
      case 'added':
      case 'changed':
      case 'removed':
      case 'addedBefore':
      case 'movedBefore':
      case 'ready':
      case 'nosub':
        this.#subs.handleMessage(message);
        return;
      case 'error':
        if (!this.#calls.handleProtocolError(message.reason, message.offendingMessage)) {
          this.emit('error', protocolError(message.reason, message.offendingMessage));
        }
        return;
      default:
        // connected, failed, ping and pong are the connection's business.
        return;
    }
  }

  #wire(): void {
    const c = this.#connection;
    c.on('message', (message) => this.#route(message));
    c.on('disconnected', (info) => {
      // Internal bookkeeping first, so listeners see a consistent client.
      if (info.wasConnected) {
        this.#calls.connectionLost();
        this.#subs.connectionLost();
      }
      this.emit('disconnected', info);
    });
    c.on('status', (status) => this.emit('status', status));
    c.on('connecting', () => this.emit('connecting'));
    c.on('connected', (sessionId) => this.emit('connected', sessionId));
    c.on('reconnecting', (info) => this.emit('reconnecting', info));
    c.on('closed', () => this.emit('closed'));
    c.on('error', (error) => this.emit('error', error));
    this.#login.on('login', (result) => this.emit('login', result));
    this.#login.on('logout', () => this.emit('logout'));
  }
}

function protocolError(reason: string, offendingMessage: unknown): DdpError {
  return clientError('protocolError', `The server could not read a message: ${reason}`, { reason, offendingMessage });
}
