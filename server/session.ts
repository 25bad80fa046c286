/**
 * A DDP session: one per socket. Handshake and version negotiation, the per-connection queue,
 * methods and subscriptions, heartbeats, and the merge box's output. Meteor's
 * `livedata_server.js` is the reference for every rule here.
 */
import { CLOSE_CODES, negotiateVersion, SUPPORTED_DDP_VERSIONS, versionHasHeartbeat } from '../protocol/constants.js';
import { decode, encode } from '../protocol/ejson.js';
import { catalogueError, PROTOCOL_ERRORS } from '../protocol/errors.js';
import { SERVER_ID_GREETING, type ClientMessage, type ConnectMessage, type Fields, type MethodMessage, type SubMessage } from '../protocol/messages.js';
import { classifyClientMessage } from '../protocol/validate.js';
import type { DdpSocket, SocketHandler } from './transport/socket.js';
import { clientAddressOf, safeHeaders, type ConnectionInfo } from './connection-info.js';
import type { Caller, LoginState } from './caller.js';
import { TaskQueue } from './queue.js';
import { Heartbeat } from './heartbeat.js';
import { MergeBox } from './publications/merge-box.js';
import { Subscription, type SubscriptionHost } from './publications/subscription.js';
import type { PublicationDefinition } from './publications/registry.js';
import { toWireError } from './errors.js';
import { errorFields } from './logger.js';
import { randomId } from './ids.js';
import type { ServerCore } from './core.js';

type State = 'awaiting-connect' | 'connected' | 'closed';

export class Session implements SocketHandler, Caller, SubscriptionHost {
  readonly transport = 'ddp' as const;
  readonly connection: ConnectionInfo;
  readonly mergeBox: MergeBox;
  userId: string | null = null;
  login: LoginState | null = null;
  version: string | null = null;

  private state: State = 'awaiting-connect';
  private sessionId = '';
  private readonly queue: TaskQueue;
  private readonly subs = new Map<string, Subscription>();
  private universal: Subscription[] = [];
  private readonly readySent = new Set<string>();
  /** While subscriptions rerun after a login, `ready` waits until the data difference is sent. */
  private pendingReady: string[] | null = null;
  private readonly closeCallbacks: (() => void)[] = [];
  private handshakeTimer: NodeJS.Timeout | null;
  private heartbeat: Heartbeat | null = null;
  /** Methods queued or running. */
  private methodsInFlight = 0;
  /** Of those, the ones still waiting in the queue. */
  private methodsQueued = 0;
  private universalCount = 0;

  constructor(private readonly core: ServerCore, private readonly socket: DdpSocket) {
    const { options, logger } = core;
    const clientAddress = clientAddressOf(socket.remoteAddress, socket.headers, options.httpForwardedCount);
    const httpHeaders = Object.freeze(safeHeaders(socket.headers));
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const session = this;
    this.connection = Object.freeze({
      get id() {
        return session.sessionId;
      },
      clientAddress,
      httpHeaders,
      onClose: (fn: () => void) => {
        if (session.state === 'closed') fn();
        else session.closeCallbacks.push(fn);
      },
      close: () => session.socket.close(CLOSE_CODES.normal, 'Closed by the server'),
    });
    this.mergeBox = new MergeBox({
      added: (collection, id, fields) => this.send({ msg: 'added', collection, id, fields }),
      changed: (collection, id, fields, cleared) => {
        const msg: Record<string, unknown> = { msg: 'changed', collection, id };
        for (const _ in fields) {
          msg.fields = fields;
          break;
        }
        if (cleared.length > 0) msg.cleared = cleared;
        this.send(msg);
      },
      removed: (collection, id) => this.send({ msg: 'removed', collection, id }),
    });
    this.queue = new TaskQueue((err) => logger.error({ connectionId: this.sessionId, ...errorFields(err) }, 'queued task failed'));
    this.handshakeTimer = setTimeout(() => this.socket.close(CLOSE_CODES.handshakeTimeout, 'No connect message in time'), options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.send([SERVER_ID_GREETING]);
  }

  get id(): string {
    return this.sessionId;
  }

  /** Counts for leak checks and metrics. */
  counts(): { methodsInFlight: number; queued: number; subscriptions: number; documents: number; timers: number } {
    return {
      methodsInFlight: this.methodsInFlight,
      queued: this.queue.pending,
      subscriptions: this.subs.size + this.universal.length,
      documents: this.mergeBox.size,
      timers: (this.handshakeTimer ? 1 : 0) + (this.heartbeat?.active ? 1 : 0),
    };
  }

  // ---- inbound ----

  receive(text: string): void {
    if (this.state === 'closed') return;
    this.heartbeat?.seen();
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
        this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
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
        this.queue.push(() => this.onSub(msg));
        return;
      case 'unsub':
        this.queue.push(() => this.onUnsub(msg.id));
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
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.version = version;
    // Always a new id: DDP session resumption is not supported, a stale `session` is ignored.
    this.sessionId = randomId();
    this.state = 'connected';
    this.core.sessionStarted(this);
    this.send({ msg: 'connected', session: this.sessionId });
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.core.options;
    if (versionHasHeartbeat(version) && heartbeatIntervalMs > 0) {
      this.heartbeat = new Heartbeat(heartbeatIntervalMs, heartbeatTimeoutMs,
        () => this.send({ msg: 'ping' }),
        () => this.socket.close(CLOSE_CODES.heartbeatTimeout, 'Heartbeat timeout'));
      this.heartbeat.start();
    }
    for (const definition of this.core.publications.universal) this.queue.push(() => this.startUniversal(definition));
  }

  private fail(version: string): void {
    this.send({ msg: 'failed', version });
    this.socket.close(CLOSE_CODES.normal, 'No common DDP version');
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
      outcome = this.core.dispatcher.invoke({ name: msg.method, params: msg.params, caller: this, unblock, ...(msg.randomSeed === undefined ? {} : { randomSeed: msg.randomSeed }) });
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
    const context = { connectionId: this.sessionId, method, methodId: id, userId: this.userId };
    let frame: string;
    try {
      frame = this.resultFrame(id, result, err, failed, context);
    } catch (encodeErr) {
      // A value EJSON cannot carry (a BigInt, a cycle...): still one answer, a 500, logged.
      frame = this.resultFrame(id, undefined, encodeErr, true, context);
    }
    this.socket.send([frame, `{"msg":"updated","methods":[${JSON.stringify(id)}]}`]);
  }

  private resultFrame(id: string, result: unknown, err: unknown, failed: boolean, context: Record<string, unknown>): string {
    if (failed) return `{"msg":"result","id":${JSON.stringify(id)},"error":${encode(toWireError(err, this.core.logger, context))}}`;
    if (result === undefined) return `{"msg":"result","id":${JSON.stringify(id)}}`;
    return `{"msg":"result","id":${JSON.stringify(id)},"result":${encode(result)}}`;
  }

  // ---- subscriptions ----

  private async onSub(msg: SubMessage): Promise<void> {
    if (this.state !== 'connected' || this.subs.has(msg.id)) return; // a repeated sub id is ignored
    const definition = this.core.publications.get(msg.name);
    if (!definition) {
      this.send({ msg: 'nosub', id: msg.id, error: catalogueError('subscriptionNotFound', msg.name).toWire() });
      return;
    }
    if (this.subs.size >= this.core.options.maxSubscriptions) {
      this.send({ msg: 'nosub', id: msg.id, error: catalogueError('tooManySubscriptions').toWire() });
      return;
    }
    const sub = new Subscription(this, msg.id, `s${msg.id}`, definition, msg.params);
    this.subs.set(msg.id, sub);
    try {
      await this.core.pipeline.run({ kind: 'subscription', name: msg.name, params: msg.params, definition, caller: this });
      await sub.run();
    } catch (err) {
      this.subscriptionEnded(sub, err);
    }
  }

  private onUnsub(id: string): void {
    const sub = this.subs.get(id);
    if (sub) this.endSubscription(sub);
    this.send({ msg: 'nosub', id });
  }

  private async startUniversal(definition: PublicationDefinition): Promise<void> {
    if (this.state !== 'connected') return;
    const sub = new Subscription(this, null, `u${++this.universalCount}`, definition, []);
    this.universal.push(sub);
    try {
      await sub.run();
    } catch (err) {
      this.subscriptionEnded(sub, err);
    }
  }

  private endSubscription(sub: Subscription): void {
    this.mergeBox.removeSubscription(sub.key);
    sub.deactivate((err) => this.core.logger.error({ connectionId: this.sessionId, ...errorFields(err) }, 'onStop callback failed'));
    if (sub.subscriptionId === null) this.universal = this.universal.filter((s) => s !== sub);
    else {
      this.subs.delete(sub.subscriptionId);
      this.readySent.delete(sub.subscriptionId);
    }
  }

  sendReady(subId: string): void {
    if (this.state !== 'connected' || this.readySent.has(subId)) return;
    this.readySent.add(subId);
    if (this.pendingReady) this.pendingReady.push(subId);
    else this.send({ msg: 'ready', subs: [subId] });
  }

  subscriptionEnded(sub: Subscription, err: unknown): void {
    if (sub.isStopped || this.state === 'closed') return;
    this.endSubscription(sub);
    if (sub.subscriptionId === null) {
      if (err !== undefined) toWireError(err, this.core.logger, { connectionId: this.sessionId, publication: null });
      return;
    }
    const msg: Record<string, unknown> = { msg: 'nosub', id: sub.subscriptionId };
    if (err !== undefined) msg.error = toWireError(err, this.core.logger, { connectionId: this.sessionId, publication: sub.definition.name, userId: this.userId });
    this.send(msg);
  }

  publisherBug(sub: Subscription, err: Error): void {
    this.core.logger.error({ connectionId: this.sessionId, publication: sub.definition.name, ...errorFields(err) }, 'publication wrote a document inconsistently; the write was ignored');
  }

  // ---- login ----

  /** Meteor's `setUserId`: every subscription reruns for the new user; the client gets only the difference. */
  async setUser(userId: string | null, login: LoginState | null): Promise<void> {
    const changed = userId !== this.userId;
    this.userId = userId;
    this.login = userId === null ? null : login;
    if (!changed || this.state !== 'connected') return;
    this.pendingReady = [];
    try {
      await this.mergeBox.rebuild(async () => {
        const named = [...this.subs.values()];
        const universal = this.universal;
        this.universal = [];
        for (const old of [...named, ...universal]) old.deactivate((err) => this.core.logger.error({ ...errorFields(err) }, 'onStop callback failed'));
        for (const old of universal) {
          const sub = new Subscription(this, null, old.key, old.definition, []);
          this.universal.push(sub);
          await sub.run().catch((err: unknown) => this.subscriptionEnded(sub, err));
        }
        for (const old of named) {
          const sub = new Subscription(this, old.subscriptionId, old.key, old.definition, old.params);
          this.subs.set(old.subscriptionId!, sub);
          if (sub.definition.options.requireUser && userId === null) {
            this.subscriptionEnded(sub, catalogueError('notLoggedIn'));
            continue;
          }
          await sub.run().catch((err: unknown) => this.subscriptionEnded(sub, err));
        }
      });
    } finally {
      const ready = this.pendingReady.filter((id) => this.subs.has(id) && this.readySent.has(id));
      this.pendingReady = null;
      if (ready.length > 0) this.send({ msg: 'ready', subs: ready });
    }
  }

  // ---- outbound ----

  private send(msg: Record<string, unknown>): void {
    if (this.state === 'closed' || !this.socket.open) return;
    this.socket.send([encode(msg)]);
  }

  private sendError(reason: string, offendingMessage?: unknown): void {
    const msg: Record<string, unknown> = { msg: 'error', reason };
    if (offendingMessage !== undefined) msg.offendingMessage = offendingMessage;
    this.send(msg);
  }

  /** Close the socket from the server side (shutdown, slow consumer...). */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  closed(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.heartbeat?.stop();
    this.queue.stop();
    // Queued methods will never run; running ones still finish (their results go nowhere).
    this.methodsInFlight -= this.methodsQueued;
    this.methodsQueued = 0;
    for (const sub of [...this.subs.values(), ...this.universal]) this.endSubscription(sub);
    for (const fn of this.closeCallbacks.splice(0)) {
      try {
        fn();
      } catch (err) {
        this.core.logger.error({ connectionId: this.sessionId, ...errorFields(err) }, 'onClose callback failed');
      }
    }
    if (wasConnected) this.core.sessionEnded(this);
  }
}

export type { Fields };
