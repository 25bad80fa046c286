/**
 * Method calls as promises: ids, timeouts, the bounded queue of calls waiting for the
 * connection, and what happens to calls in flight when the socket drops: every call carries a
 * `randomSeed`, and one that got no result is sent again, unchanged, after the reconnect and
 * the re-login (Meteor's rule). A server that remembers outcomes by user and seed (ddp-guard
 * does) answers such a re-sent call with its first outcome instead of running it twice.
 */
import { DdpError, encode, type MethodMessage, type ResultMessage, type UpdatedMessage } from '../protocol/index.js';
import { clientError } from './errors.js';

/** Options of one call. */
export interface CallOptions {
  /** Reject with `timeout` after this long (ms), queue time included; 0 means never. Defaults to the client's `callTimeoutMs`. */
  timeoutMs?: number;
  /**
   * If the socket drops before the result arrives, send the call again (same id, same
   * `randomSeed`) after the reconnect and the re-login. `false` rejects it with
   * `connection-lost` instead: for a server that does not remember outcomes by seed, when the
   * method must not run twice. A call that got its result is never sent again.
   * @default true
   */
  retryable?: boolean;
  /**
   * Resolve only after both `result` and `updated` (the server's writes are then visible in
   * the local collections), as Meteor's own client does. @default false
   */
  waitForUpdated?: boolean;
  /** Answer two-factor challenges of this call (see `onTwoFactorRequired`). @default true */
  twoFactor?: boolean;
}

/** What the call manager needs from the connection. */
export interface CallTransport {
  /** Send an encoded frame now; false when there is no open socket. */
  sendText(text: string): boolean;
}

/** Settings of the call manager. */
export interface CallManagerOptions {
  callTimeoutMs: number;
  maxQueuedCalls: number;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * A call's `randomSeed`: 128 random bits as hex, from WebCrypto (browsers, Node ≥ 19). The
 * server keys the remembered outcome by it, so it must not repeat or be guessable.
 */
export function randomSeed(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

interface PendingCall {
  method: string;
  /** The encoded `method` frame: encoded once, so a bad parameter fails the call at once. */
  text: string;
  retryable: boolean;
  waitForUpdated: boolean;
  sent: boolean;
  hasResult: boolean;
  result: unknown;
  updated: boolean;
  timer: Timer | undefined;
  resolve: (value: unknown) => void;
  reject: (error: DdpError) => void;
}

/**
 * Tracks every call from `apply` to its answer. Calls go out at once while the gate is open
 * (connected and logged back in); otherwise they wait in a bounded FIFO queue.
 */
export class CallManager {
  readonly #transport: CallTransport;
  readonly #options: CallManagerOptions;
  #nextId = 1;
  /** Every unsettled call, queued or sent, by id. */
  readonly #pending = new Map<string, PendingCall>();
  /** Ids waiting to be sent, in order. */
  #queue: string[] = [];
  #gateOpen = false;
  #closedError: DdpError | undefined;

  constructor(transport: CallTransport, options: CallManagerOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  /** Number of calls waiting for the connection. */
  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Number of calls sent and not yet answered. */
  get inFlightCount(): number {
    return this.#pending.size - this.#queue.length;
  }

  /** Call a method; queued while the gate is closed. */
  apply(method: string, params: unknown[], options: CallOptions = {}): Promise<unknown> {
    return this.#start(method, params, options, false);
  }

  /**
   * Call a method now, even with the gate closed (the re-login after a reconnect goes first,
   * before queued calls). Rejects with `connection-lost` when there is no socket.
   */
  applyNow(method: string, params: unknown[], options: CallOptions = {}): Promise<unknown> {
    return this.#start(method, params, options, true);
  }

  /** Open the gate and send queued calls, oldest first. */
  openGate(): void {
    this.#gateOpen = true;
    this.#flush();
  }

  /**
   * The socket dropped: close the gate; calls in flight without a result go back to the front
   * of the queue in their original order (sent again, unchanged, once the gate reopens after the
   * re-login), except those made with `retryable: false`, which reject with `connection-lost`.
   */
  connectionLost(): void {
    this.#gateOpen = false;
    const requeue: string[] = [];
    for (const [id, call] of this.#pending) {
      if (!call.sent) continue;
      if (call.hasResult) {
        // Only `updated` was missing: the answer is known, so deliver it.
        this.#settle(id, call, () => call.resolve(call.result));
      } else if (call.retryable) {
        call.sent = false;
        requeue.push(id);
      } else {
        this.#settle(id, call, () => call.reject(clientError('connectionLost', `Connection lost before the server answered '${call.method}'`, { method: call.method })));
      }
    }
    this.#queue = [...requeue, ...this.#queue];
  }

  /** Reject everything, now and later (the client was closed). */
  close(error: DdpError = clientError('clientClosed')): void {
    this.#closedError = error;
    this.#gateOpen = false;
    this.#queue = [];
    for (const [id, call] of this.#pending) this.#settle(id, call, () => call.reject(error));
  }

  /** Handle `result`. */
  handleResult(message: ResultMessage): void {
    const call = this.#pending.get(message.id);
    if (!call || !call.sent) return;
    const wireError = message.error;
    if (wireError !== undefined) {
      this.#settle(message.id, call, () => call.reject(DdpError.fromWire(wireError)));
      return;
    }
    call.hasResult = true;
    call.result = message.result;
    if (!call.waitForUpdated || call.updated) this.#settle(message.id, call, () => call.resolve(message.result));
  }

  /** Handle `updated`; it may come before or after `result`. */
  handleUpdated(message: UpdatedMessage): void {
    for (const id of message.methods) {
      const call = this.#pending.get(id);
      if (!call || !call.sent) continue;
      call.updated = true;
      if (call.hasResult) this.#settle(id, call, () => call.resolve(call.result));
    }
  }

  /**
   * The server could not read one of our frames (`{msg:'error', offendingMessage}`): reject the
   * call it names, if any, rather than let it time out.
   */
  handleProtocolError(reason: string, offending: unknown): boolean {
    if (typeof offending !== 'object' || offending === null) return false;
    const id = (offending as Record<string, unknown>).id;
    if (typeof id !== 'string') return false;
    const call = this.#pending.get(id);
    if (!call || !call.sent) return false;
    this.#settle(id, call, () => call.reject(clientError('protocolError', `The server rejected the call of '${call.method}': ${reason}`, { method: call.method })));
    return true;
  }

  #start(method: string, params: unknown[], options: CallOptions, now: boolean): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = String(this.#nextId++);
    let text: string;
    try {
      text = encode({ msg: 'method', method, params, id, randomSeed: randomSeed() } satisfies MethodMessage);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return Promise.reject(new TypeError(`The parameters of '${method}' cannot be sent as EJSON: ${why}`));
    }
    if (now) {
      if (!this.#transport.sendText(text)) {
        return Promise.reject(clientError('connectionLost', `No connection to call '${method}'`, { method }));
      }
    } else if (!this.#gateOpen && this.#queue.length >= this.#options.maxQueuedCalls) {
      return Promise.reject(clientError('queueFull', `${this.#queue.length} calls already wait for the connection; '${method}' was not queued`, { method, maxQueuedCalls: this.#options.maxQueuedCalls }));
    }
    return new Promise<unknown>((resolve, reject) => {
      const call: PendingCall = {
        method,
        text,
        // A call made ahead of the queue belongs to the connection it was made on.
        retryable: !now && (options.retryable ?? true),
        waitForUpdated: options.waitForUpdated ?? false,
        sent: now,
        hasResult: false,
        result: undefined,
        updated: false,
        timer: undefined,
        resolve,
        reject,
      };
      this.#pending.set(id, call);
      const timeoutMs = options.timeoutMs ?? this.#options.callTimeoutMs;
      if (timeoutMs > 0) {
        call.timer = setTimeout(() => {
          this.#queue = this.#queue.filter((queued) => queued !== id);
          this.#settle(id, call, () => call.reject(clientError('timeout', `Method '${method}' timed out after ${timeoutMs} ms`, { method, timeoutMs, sent: call.sent })));
        }, timeoutMs);
      }
      if (now) return;
      if (this.#gateOpen && this.#transport.sendText(text)) call.sent = true;
      else this.#queue.push(id);
    });
  }

  #flush(): void {
    while (this.#gateOpen && this.#queue.length > 0) {
      const id = this.#queue[0]!;
      const call = this.#pending.get(id);
      if (call) {
        if (!this.#transport.sendText(call.text)) return; // The socket just went; connectionLost follows.
        call.sent = true;
      }
      this.#queue.shift();
    }
  }

  #settle(id: string, call: PendingCall, outcome: () => void): void {
    if (call.timer !== undefined) clearTimeout(call.timer);
    this.#pending.delete(id);
    outcome();
  }
}
