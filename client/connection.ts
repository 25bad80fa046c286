/**
 * One logical DDP connection over a series of sockets: the handshake, heartbeats, and
 * reconnecting with backoff when a socket drops. Calls and subscriptions live above it and
 * learn about drops through its events.
 */
import {
  SUPPORTED_DDP_VERSIONS,
  classifyServerMessage,
  decode,
  encode,
  versionHasHeartbeat,
  type ClientMessage,
  type DdpError,
  type ServerMessage,
} from '../protocol/index.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { Heartbeat } from './heartbeat.js';
import { clientError } from './errors.js';
import { Socket, type WebSocketConstructor } from './socket.js';

/**
 * Where the connection stands. `idle`: `open()` was never called. `connecting`: a socket is
 * opening or the handshake (and re-login) runs. `connected`: ready for calls. `disconnected`:
 * no socket and no retry planned. `reconnecting`: waiting for the next attempt. `closed`:
 * `close()` was called; final.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** Why a connection or an attempt ended. */
export interface DisconnectInfo {
  /** The WebSocket close code (1006 when the socket vanished without one; ours for timeouts). */
  code: number;
  reason: string;
  /** True when the handshake had completed: calls may have been in flight. */
  wasConnected: boolean;
}

/** A planned reconnect attempt. */
export interface ReconnectInfo {
  /** 1 for the first retry after a drop. */
  attempt: number;
  delayMs: number;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  status: [status: ConnectionStatus];
  connecting: [];
  /** Handshake done and the session set-up hook finished. */
  connected: [sessionId: string];
  /** The handshake completed on a new socket; the set-up hook is about to run. */
  handshake: [sessionId: string];
  disconnected: [info: DisconnectInfo];
  reconnecting: [info: ReconnectInfo];
  closed: [];
  /** Every server message after the handshake, except `ping`/`pong`. */
  message: [message: ServerMessage];
  /** Something went wrong that no pending promise will report: a bad frame, `{msg:'error'}`, `failed`. */
  error: [error: DdpError];
}

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  WebSocket: WebSocketConstructor;
  connectTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  reconnect: boolean;
  retryFirstConnect: boolean;
  backoff: BackoffOptions;
  /**
   * Runs after each handshake, before the status becomes `connected` (the client re-logs in
   * and re-subscribes here). Messages flow while it runs.
   */
  onSession?: (sessionId: string) => Promise<void>;
}

/** Close codes used for sockets this client abandons itself. */
const CONNECT_TIMEOUT_CODE = 4000;
const HEARTBEAT_TIMEOUT_CODE = 4001;

type Timer = ReturnType<typeof setTimeout>;

interface Waiter {
  resolve: () => void;
  reject: (error: DdpError) => void;
}

/** A DDP connection with heartbeats and automatic reconnects. */
export class Connection extends Emitter<ConnectionEvents> {
  readonly #url: string;
  readonly #options: ConnectionOptions;
  #status: ConnectionStatus = 'idle';
  #socket: Socket | undefined;
  /** Bumped whenever a socket is abandoned, so late events of old sockets are ignored. */
  #generation = 0;
  #handshakeDone = false;
  #sessionId: string | undefined;
  #everConnected = false;
  #retries = 0;
  #version: string = SUPPORTED_DDP_VERSIONS[0] ?? '1';
  #waiters: Waiter[] = [];
  #lastError = '';
  #connectTimer: Timer | undefined;
  #retryTimer: Timer | undefined;
  #heartbeat: Heartbeat | undefined;

  constructor(url: string, options: ConnectionOptions) {
    super();
    this.#url = url;
    this.#options = options;
  }

  /** The current status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The server's session id while a handshake is done, else undefined. */
  get sessionId(): string | undefined {
    return this.#handshakeDone ? this.#sessionId : undefined;
  }

  /** True once `connected` was received on the current socket: messages can be sent. */
  get isOpen(): boolean {
    return this.#handshakeDone;
  }

  /**
   * Start connecting (if not already) and resolve when the status is `connected`. Rejects on
   * `close()`, on a version mismatch, and when the first attempt fails and `retryFirstConnect`
   * is off.
   */
  open(): Promise<void> {
    if (this.#status === 'closed') return Promise.reject(clientError('clientClosed'));
    if (this.#status === 'connected') return Promise.resolve();
    const promise = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#status === 'idle' || this.#status === 'disconnected') this.#attempt();
    return promise;
  }

  /** Retry now instead of waiting for the backoff delay (for example when the network comes back). */
  reconnectNow(): void {
    if (this.#status === 'reconnecting' || this.#status === 'disconnected') {
      this.#clearTimer('retry');
      this.#attempt();
    }
  }

  /** Send one message on the open socket. Returns false when there is none. */
  send(message: ClientMessage): boolean {
    return this.sendText(encode(message));
  }

  /** Send an already encoded message. Returns false when there is no open socket. */
  sendText(text: string): boolean {
    if (!this.#handshakeDone || !this.#socket) return false;
    return this.#socket.send(text);
  }

  /** Close for good: no more reconnects; `open()` rejects from now on. */
  close(): void {
    if (this.#status === 'closed') return;
    const wasConnected = this.#handshakeDone;
    this.#abandonSocket(1000, 'client closed');
    this.#handshakeDone = false;
    this.#sessionId = undefined;
    this.#clearTimer('retry');
    if (wasConnected) this.emit('disconnected', { code: 1000, reason: 'client closed', wasConnected });
    this.#setStatus('closed');
    this.#rejectWaiters(clientError('clientClosed'));
    this.emit('closed');
  }

  #attempt(): void {
    const generation = ++this.#generation;
    this.#lastError = '';
    this.#setStatus('connecting');
    this.emit('connecting');
    const gone = (code: number, reason: string): void => {
      if (generation !== this.#generation) return;
      this.#abandonSocket(code, reason);
      this.#onSocketGone(code, reason);
    };
    try {
      this.#socket = new Socket(this.#options.WebSocket, this.#url, {
        onOpen: () => this.#onOpen(generation),
        onText: (text) => this.#onText(generation, text),
        onBinary: () => this.#onBinary(generation),
        onClose: (code, reason) => gone(code, reason || this.#lastError),
        onError: (message) => {
          // The close event that follows carries no detail; keep this for it.
          if (generation === this.#generation) this.#lastError = message;
        },
      });
    } catch (error) {
      // A malformed URL throws synchronously in both the DOM and ws.
      const reason = error instanceof Error ? error.message : String(error);
      queueMicrotask(() => gone(1006, reason));
      return;
    }
    this.#connectTimer = setTimeout(() => {
      gone(CONNECT_TIMEOUT_CODE, `No 'connected' within ${this.#options.connectTimeoutMs} ms`);
    }, this.#options.connectTimeoutMs);
  }

  #onOpen(generation: number): void {
    if (generation !== this.#generation || !this.#socket) return;
    this.#socket.send(encode({ msg: 'connect', version: this.#version, support: [...SUPPORTED_DDP_VERSIONS] }));
  }

  #onBinary(generation: number): void {
    if (generation !== this.#generation) return;
    this.emit('error', clientError('protocolError', 'Binary frame received; DDP is text only'));
  }

  #onText(generation: number, text: string): void {
    if (generation !== this.#generation) return;
    this.#heartbeat?.received();
    let value: unknown;
    try {
      value = decode(text);
    } catch (error) {
      this.emit('error', clientError('protocolError', `Unreadable frame: ${error instanceof Error ? error.message : String(error)}`, { frame: text.slice(0, 200) }));
      return;
    }
    // Meteor's greeting `{"server_id":"0"}` has no `msg`; it means nothing to us.
    if (typeof value === 'object' && value !== null && !('msg' in value) && 'server_id' in value) return;
    const classified = classifyServerMessage(value);
    if (!classified.ok) {
      this.emit('error', clientError('protocolError', `Invalid message: ${classified.reason}`, { frame: text.slice(0, 200) }));
      return;
    }
    this.#onMessage(generation, classified.message);
  }

  #onMessage(generation: number, message: ServerMessage): void {
    switch (message.msg) {
      case 'connected':
        if (!this.#handshakeDone) this.#onConnected(generation, message.session);
        return;
      case 'failed':
        this.#onFailed(message.version);
        return;
      case 'ping':
        // Answered even before the handshake: the server may probe early.
        this.#socket?.send(encode(message.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: message.id }));
        return;
      case 'pong':
        return;
      default:
        if (this.#handshakeDone) this.emit('message', message);
    }
  }

  #onConnected(generation: number, sessionId: string): void {
    this.#clearTimer('connect');
    this.#handshakeDone = true;
    this.#sessionId = sessionId;
    this.#everConnected = true;
    this.#retries = 0;
    this.#startHeartbeat(generation);
    this.emit('handshake', sessionId);
    const setup = this.#options.onSession ? this.#options.onSession(sessionId) : Promise.resolve();
    const finish = (): void => {
      // The socket may have dropped (or been replaced) while the set-up ran.
      if (generation !== this.#generation) return;
      this.#setStatus('connected');
      this.emit('connected', sessionId);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const waiter of waiters) waiter.resolve();
    };
    // A failed set-up (say, an expired resume token) still leaves a usable connection.
    setup.then(finish, finish);
  }

  #onFailed(serverVersion: string): void {
    if (SUPPORTED_DDP_VERSIONS.includes(serverVersion) && serverVersion !== this.#version) {
      // Meteor's negotiation: reconnect at once, proposing the server's version.
      this.#version = serverVersion;
      this.#abandonSocket(1000, 'version negotiation');
      this.#attempt();
      return;
    }
    // Retrying cannot help: stop here.
    const error = clientError('versionFailed', `The server wants DDP version '${serverVersion}', which this client does not speak`, { version: serverVersion });
    this.#abandonSocket(1000, 'version mismatch');
    this.#setStatus('disconnected');
    this.#rejectWaiters(error);
    this.emit('error', error);
  }

  /** The socket is gone (closed, or abandoned by us): report it, then maybe plan a retry. */
  #onSocketGone(code: number, reason: string): void {
    const wasConnected = this.#handshakeDone;
    this.#handshakeDone = false;
    this.#sessionId = undefined;
    if (this.#status === 'closed') return;
    if (wasConnected) {
      this.#setStatus('disconnected');
      this.emit('disconnected', { code, reason, wasConnected });
    } else if (!this.#everConnected && !this.#options.retryFirstConnect) {
      this.#setStatus('disconnected');
      this.emit('disconnected', { code, reason, wasConnected });
      this.#rejectWaiters(clientError('connectFailed', `Could not connect to ${this.#url}: ${reason || `close code ${code}`}`, { code, reason }));
      return;
    }
    if (!this.#options.reconnect) {
      this.#setStatus('disconnected');
      this.#rejectWaiters(clientError('connectFailed', `Connection to ${this.#url} lost and reconnect is off`, { code, reason }));
      return;
    }
    const delayMs = backoffDelay(this.#retries, this.#options.backoff);
    this.#retries += 1;
    this.#setStatus('reconnecting');
    this.emit('reconnecting', { attempt: this.#retries, delayMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#attempt();
    }, delayMs);
  }

  /** Forget the current socket (its late events are ignored from now on) and close it. */
  #abandonSocket(code: number, reason: string): void {
    this.#generation += 1;
    this.#clearTimer('connect');
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.detachAndClose(code, reason);
  }

  #startHeartbeat(generation: number): void {
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    if (this.#options.heartbeatIntervalMs === 0 || !versionHasHeartbeat(this.#version)) return;
    this.#heartbeat = new Heartbeat(
      { intervalMs: this.#options.heartbeatIntervalMs, timeoutMs: this.#options.heartbeatTimeoutMs },
      () => this.#socket?.send(encode({ msg: 'ping' })),
      () => {
        if (generation !== this.#generation) return;
        this.#abandonSocket(HEARTBEAT_TIMEOUT_CODE, 'heartbeat timeout');
        this.#onSocketGone(HEARTBEAT_TIMEOUT_CODE, `No answer to ping within ${this.#options.heartbeatTimeoutMs} ms`);
      },
    );
  }

  #clearTimer(which: 'connect' | 'retry'): void {
    if (which === 'connect' && this.#connectTimer !== undefined) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
    if (which === 'retry' && this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
  }

  #setStatus(status: ConnectionStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.emit('status', status);
  }

  #rejectWaiters(error: DdpError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
