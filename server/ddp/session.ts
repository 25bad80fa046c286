/**
 * A DDP session: one per socket. Handshake and version negotiation, the per-connection queue,
 * methods, heartbeats and outbound messages; subscriptions live in `SessionSubscriptions`.
 * Meteor's `livedata_server.js` is the reference for every rule here. Idle connections are the
 * common case, so everything a session may never need is created on first use.
 */
import { CLOSE_CODES, negotiateVersion, SUPPORTED_DDP_VERSIONS, versionHasHeartbeat } from '../../protocol/constants.js';
import { decode, encode } from '../../protocol/ejson.js';
import { catalogueError, PROTOCOL_ERRORS } from '../../protocol/errors.js';
import { PING_TEXT, PONG_TEXT, SERVER_ID_GREETING, type ClientMessage, type ConnectMessage, type MethodMessage } from '../../protocol/messages.js';
import { classifyClientMessage } from '../../protocol/validate.js';
import type { DdpSocket, SocketHandler } from '../transport/socket.js';
import type { Caller, LoginState, TrustMemo } from '../calls/caller.js';
import { TaskQueue } from './task-queue.js';
import { monotonicNow, type Sweepable } from './sweeper.js';
import { SessionConnection, type ConnectionOwner } from './session-connection.js';
import { applicable, SessionSubscriptions, type SubscriptionOwner } from './session-subscriptions.js';
import { toWireError } from '../calls/wire-errors.js';
import { errorResultFrame, quoteId, resultFrame } from '../calls/result-frame.js';
import { errorFields } from '../runtime/logger.js';
import { randomId } from '../runtime/ids.js';
import type { ServerCore } from './server-core.js';

type State = 'awaiting-connect' | 'connected' | 'closed';

export class Session implements SocketHandler, Caller, ConnectionOwner, SubscriptionOwner, Sweepable {
  private connection_: SessionConnection | null = null;
  userId: string | null = null;
  login: LoginState | null = null;
  twoFactorTrust: TrustMemo | null = null;
  version: string | null = null;

  private state: State = 'awaiting-connect';
  private sessionId = '';
  private queue_: TaskQueue | null = null;
  private subscriptions_: SessionSubscriptions | null = null;
  private closeCallbacks: (() => void)[] | null = null;
  /** When the socket was accepted ({@link monotonicNow} ms). */
  readonly openedAt = monotonicNow();
  private lastSeen = this.openedAt;
  /** Start of the current heartbeat interval (set at the handshake, then at each interval's end). */
  private intervalStart = 0;
  private pingSentAt = 0;
  private heartbeat = false;
  /** Methods queued or running. */
  private methodsInFlight = 0;
  /** Of those, the ones still waiting in the queue. */
  private methodsQueued = 0;

  constructor(readonly core: ServerCore<Session>, private readonly socket: DdpSocket) {
    socket.send([SERVER_ID_GREETING]);
  }

  /** `this.connection` of methods and publications; made on first use (idle sessions never need it). */
  get connection(): SessionConnection {
    return (this.connection_ ??= new SessionConnection(this, this.socket.clientAddress, this.socket.httpHeaders));
  }
  get transport(): 'ddp' {
    return 'ddp';
  }
  get id(): string {
    return this.sessionId;
  }
  get isConnected(): boolean {
    return this.state === 'connected';
  }
  get isClosed(): boolean {
    return this.state === 'closed';
  }
  private get queue(): TaskQueue {
    return (this.queue_ ??= new TaskQueue((err) => this.core.logger.error({ connectionId: this.sessionId, ...errorFields(err) }, 'queued task failed')));
  }
  private get subscriptions(): SessionSubscriptions {
    return (this.subscriptions_ ??= new SessionSubscriptions(this));
  }

  addCloseCallback(fn: () => void): void {
    (this.closeCallbacks ??= []).push(fn);
  }

  /** Counts for leak checks and metrics. */
  counts(): { methodsInFlight: number; queued: number; subscriptions: number; documents: number; timers: number } {
    const subs = this.subscriptions_?.counts() ?? { subscriptions: 0, documents: 0 };
    return {
      methodsInFlight: this.methodsInFlight,
      queued: this.queue_?.pending ?? 0,
      ...subs,
      // Timeouts this session is watched for (handshake, heartbeat); the timer itself is shared.
      timers: this.state === 'awaiting-connect' || (this.state === 'connected' && this.heartbeat) ? 1 : 0,
    };
  }

  // ---- inbound ----

  receive(text: string): void {
    if (this.state === 'closed') return;
    this.lastSeen = monotonicNow();
    this.core.traffic.messagesIn++;
    // Heartbeats are nearly all an idle connection receives: their exact texts (what every client
    // sends) are handled without decoding, with the same answer as the decoded message gets.
    if (this.state === 'connected') {
      if (text === PONG_TEXT) return;
      if (text === PING_TEXT) {
        this.sendText(PONG_TEXT);
        return;
      }
    }
    let value: unknown;
    try {
      value = decode(text);
    } catch {
      this.sendError(PROTOCOL_ERRORS.parseError.reason);
      return;
    }
    const classified = classifyClientMessage(value);
    if (!classified.ok) {
      this.sendError(classified.reason, value);
      return;
    }
    const msg = classified.message;
    if (this.state === 'awaiting-connect') {
      if (msg.msg === 'connect') this.handshake(msg);
      else this.sendError(PROTOCOL_ERRORS.mustConnectFirst.reason, value);
      return;
    }
    this.handle(msg, value);
  }

  private handle(msg: ClientMessage, raw: unknown): void {
    switch (msg.msg) {
      case 'ping':
        this.sendMessage(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
        return;
      case 'pong':
        return;
      case 'connect':
        this.sendError(PROTOCOL_ERRORS.alreadyConnected.reason, raw);
        return;
      case 'disconnect':
        this.socket.close(CLOSE_CODES.normal, 'Client disconnected');
        return;
      case 'method':
        this.onMethod(msg);
        return;
      case 'sub':
        this.queue.push(() => this.subscriptions.subscribe(msg));
        return;
      case 'unsub':
        this.queue.push(() => this.subscriptions.unsubscribe(msg.id));
        return;
    }
  }

  private handshake(msg: ConnectMessage): void {
    if (!msg.support.includes(msg.version)) {
      this.fail(SUPPORTED_DDP_VERSIONS[0]!);
      return;
    }
    const version = negotiateVersion(msg.support);
    if (version !== msg.version) {
      this.fail(version);
      return;
    }
    this.version = version;
    // Always a new id: DDP session resumption is not supported, a stale `session` is ignored.
    this.sessionId = randomId();
    this.state = 'connected';
    this.heartbeat = versionHasHeartbeat(version) && this.core.options.heartbeatIntervalMs > 0;
    // As in Meteor, whose heartbeat starts after `connect`: the connect itself is not a sign of life for the first interval.
    this.intervalStart = this.lastSeen + 1;
    this.core.sessionStarted(this);
    this.sendMessage({ msg: 'connected', session: this.sessionId });
    const universal = this.core.publications.universal;
    if (applicable(universal, null).length > 0) this.subscriptions.startUniversal(universal);
  }

  private fail(version: string): void {
    this.sendMessage({ msg: 'failed', version });
    this.socket.close(CLOSE_CODES.normal, 'No common DDP version');
  }

  /**
   * Handshake timeout and heartbeats, called by the server's shared sweeper. Meteor's rule
   * (ddp-common's Heartbeat): at the end of each interval the server pings only if nothing at
   * all arrived during it and no ping awaits its answer, so a client that only answers pings is
   * pinged every other interval, and one that pings on its own (Meteor's client does, after
   * 17.5 s without a message) or calls methods is not pinged at all; a ping with no message
   * back within the timeout closes the socket.
   */
  sweep(now: number): void {
    const { handshakeTimeoutMs, heartbeatIntervalMs, heartbeatTimeoutMs } = this.core.options;
    if (this.state === 'awaiting-connect') {
      if (now - this.openedAt >= handshakeTimeoutMs) this.socket.close(CLOSE_CODES.handshakeTimeout, 'No connect message in time');
      return;
    }
    if (this.state !== 'connected' || !this.heartbeat) return;
    if (this.pingSentAt !== 0) {
      if (this.lastSeen < this.pingSentAt) {
        if (now - this.pingSentAt >= heartbeatTimeoutMs) this.socket.close(CLOSE_CODES.heartbeatTimeout, 'Heartbeat timeout');
        return;
      }
      this.pingSentAt = 0;
    }
    if (now - this.intervalStart >= heartbeatIntervalMs) {
      const silent = this.lastSeen < this.intervalStart;
      this.intervalStart = now;
      if (silent) {
        this.pingSentAt = now;
        this.sendText(PING_TEXT);
      }
    }
  }

  // ---- methods ----

  private onMethod(msg: MethodMessage): void {
    if (this.core.isShuttingDown()) {
      this.sendResult(msg.id, undefined, catalogueError('serverShuttingDown'));
      return;
    }
    if (this.methodsInFlight >= this.core.options.maxMethodsInFlight) {
      this.sendResult(msg.id, undefined, catalogueError('tooManyInFlight'));
      return;
    }
    this.methodsInFlight++;
    this.methodsQueued++;
    this.queue.push((unblock) => {
      this.methodsQueued--;
      return this.runMethod(msg, unblock);
    });
  }

  private runMethod(msg: MethodMessage, unblock: () => void): void | Promise<void> {
    let outcome: unknown;
    try {
      outcome = this.core.dispatcher.invoke({ name: msg.method, params: msg.params, caller: this, unblock, randomSeed: msg.randomSeed });
    } catch (err) {
      this.finishMethod(msg, undefined, err, true);
      return;
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (result: unknown) => this.finishMethod(msg, result, undefined, false),
        (err: unknown) => this.finishMethod(msg, undefined, err, true),
      );
    }
    this.finishMethod(msg, outcome, undefined, false);
  }

  private finishMethod(msg: MethodMessage, result: unknown, err: unknown, failed: boolean): void {
    this.methodsInFlight--;
    this.sendResult(msg.id, result, failed ? err : undefined, failed, msg.method);
  }

  /** `result` then `updated`, in one write. A closing socket gets nothing more (errors are still logged). */
  private sendResult(id: string, result: unknown, err?: unknown, failed = err !== undefined, method?: string): void {
    if (this.state === 'closed' || (!this.socket.open && !failed)) return;
    const quotedId = quoteId(id);
    let frame: string;
    try {
      frame = failed ? this.errorFrame(quotedId, id, err, method) : resultFrame(quotedId, result);
    } catch (encodeErr) {
      // A value EJSON cannot carry (a BigInt, a cycle...): still one answer, a 500, logged.
      frame = this.errorFrame(quotedId, id, encodeErr, method);
    }
    this.socket.send([frame, `{"msg":"updated","methods":[${quotedId}]}`]);
    this.core.traffic.messagesOut += 2;
  }

  private errorFrame(quotedId: string, id: string, err: unknown, method: string | undefined): string {
    const context = { connectionId: this.sessionId, method, methodId: id, userId: this.userId };
    return errorResultFrame(quotedId, toWireError(err, this.core.logger, context));
  }

  // ---- login ----

  /** Meteor's `setUserId`: every subscription reruns for the new user; the client gets only the difference. */
  async setUser(userId: string | null, login: LoginState | null): Promise<void> {
    const changed = userId !== this.userId;
    this.userId = userId;
    this.login = userId === null ? null : login;
    if (!changed || this.state !== 'connected') return;
    const universal = this.core.publications.universal;
    if (!this.subscriptions_ && applicable(universal, userId).length === 0) return;
    await this.subscriptions.rerun(userId, universal);
  }

  // ---- outbound ----

  /** Encode and send one message (nothing once the socket is closing). */
  sendMessage(msg: Record<string, unknown>): void {
    this.sendText(encode(msg));
  }

  /** Sends one message already encoded. */
  private sendText(text: string): void {
    if (this.state === 'closed' || !this.socket.open) return;
    this.socket.send([text]);
    this.core.traffic.messagesOut++;
  }

  /** A stream event: Rocket.Chat's `changed` of document `id`, outside the merge box (server/streams/ says why). */
  sendStreamEvent(collection: string, fields: Record<string, unknown>): void {
    this.sendMessage({ msg: 'changed', collection, id: 'id', fields });
  }

  private sendError(reason: string, offendingMessage?: unknown): void {
    const msg: Record<string, unknown> = { msg: 'error', reason };
    if (offendingMessage !== undefined) msg.offendingMessage = offendingMessage;
    this.sendMessage(msg);
  }

  /** Close the socket from the server side (shutdown, slow consumer...). */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  closed(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.queue_?.stop();
    // Queued methods will never run; running ones still finish (their results go nowhere).
    this.methodsInFlight -= this.methodsQueued;
    this.methodsQueued = 0;
    this.subscriptions_?.endAll();
    for (const fn of this.closeCallbacks?.splice(0) ?? []) {
      try {
        fn();
      } catch (err) {
        this.core.logger.error({ connectionId: this.sessionId, ...errorFields(err) }, 'onClose callback failed');
      }
    }
    this.core.socketClosed(this, wasConnected);
  }
}
