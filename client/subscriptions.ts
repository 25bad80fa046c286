/**
 * Subscriptions and the local collections they fill. Subscriptions survive reconnects: they
 * are sent again on each new session, and documents the new session does not send again are
 * removed once every subscription is ready.
 */
import { DdpError, encode, type DataMessage, type NosubMessage, type ReadyMessage, type SubMessage, type UnsubMessage } from '../protocol/index.js';
import { LocalCollection, type ChangeSink } from './collection.js';
import { clientError } from './errors.js';

/** Callbacks of one subscription, as Meteor's `subscribe` takes them. */
export interface SubscribeOptions {
  /** Called once, when the first `ready` arrives. */
  onReady?: () => void;
  /** Called once when the subscription ends: by `stop()`, or by the server (`nosub`, with its error if any). */
  onStop?: (error?: DdpError) => void;
}

/** A live subscription. */
export interface SubscriptionHandle {
  readonly id: string;
  readonly name: string;
  readonly params: readonly unknown[];
  /** Resolves at the first `ready`; rejects if the server refuses (`nosub` with an error) or on `stop()` before ready. */
  readonly ready: Promise<void>;
  /** True while the server has reported the subscription ready on the current session. */
  readonly isReady: boolean;
  readonly isStopped: boolean;
  /** Unsubscribe. Safe to call more than once. */
  stop(): void;
}

/** What the manager needs from the connection. */
export interface SubscriptionTransport {
  send(message: SubMessage | UnsubMessage): boolean;
}

class Subscription implements SubscriptionHandle {
  readonly ready: Promise<void>;
  isReady = false;
  isStopped = false;
  everReady = false;
  readonly #resolve: () => void;
  readonly #reject: (error: DdpError) => void;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly params: readonly unknown[],
    readonly options: SubscribeOptions,
    readonly stopHook: (sub: Subscription) => void,
  ) {
    let resolve!: () => void;
    let reject!: (error: DdpError) => void;
    this.ready = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Marks the rejection handled: code that never awaits `ready` must not crash the process.
    this.ready.catch(() => {});
    this.#resolve = resolve;
    this.#reject = reject;
  }

  stop(): void {
    if (this.isStopped) return;
    this.stopHook(this);
  }

  markReady(): void {
    this.isReady = true;
    if (this.everReady) return;
    this.everReady = true;
    this.#resolve();
    this.options.onReady?.();
  }

  /** Ends the subscription; `error` rejects `ready` when it has not resolved yet. */
  end(error: DdpError | undefined, notReadyError: DdpError): void {
    this.isStopped = true;
    this.isReady = false;
    if (!this.everReady) this.#reject(error ?? notReadyError);
    this.options.onStop?.(error);
  }
}

/** Tracks subscriptions and owns the local collections. */
export class SubscriptionManager {
  readonly #transport: SubscriptionTransport;
  readonly #sink: ChangeSink;
  readonly #subs = new Map<string, Subscription>();
  readonly #collections = new Map<string, LocalCollection>();
  #nextId = 1;
  /** True when subscriptions can be sent: connected and logged back in. */
  #live = false;
  /** Subscriptions re-sent on this session that have not answered yet; undefined when no resync runs. */
  #resyncWaiting: Set<string> | undefined;

  constructor(transport: SubscriptionTransport, sink: ChangeSink) {
    this.#transport = transport;
    this.#sink = sink;
  }

  /**
   * Subscribe now, or on the next session if not connected. Throws a `TypeError` at once when
   * the parameters cannot be sent as EJSON, rather than failing later inside a reconnect.
   */
  subscribe(name: string, params: unknown[], options: SubscribeOptions = {}): SubscriptionHandle {
    try {
      encode(params);
    } catch (error) {
      throw new TypeError(`The parameters of subscription '${name}' cannot be sent as EJSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    const id = `s${this.#nextId++}`;
    const sub = new Subscription(id, name, params, options, (s) => this.#stop(s));
    this.#subs.set(id, sub);
    if (this.#live) this.#transport.send({ msg: 'sub', id, name, params });
    return sub;
  }

  /** The local view of a collection (created empty on first use). */
  collection(name: string): LocalCollection {
    let collection = this.#collections.get(name);
    if (!collection) {
      collection = new LocalCollection(name, this.#sink);
      this.#collections.set(name, collection);
    }
    return collection;
  }

  /** Active subscriptions. */
  get active(): SubscriptionHandle[] {
    return [...this.#subs.values()];
  }

  /** Handle a data message, `ready` or `nosub`. */
  handleMessage(message: DataMessage | ReadyMessage | NosubMessage): void {
    switch (message.msg) {
      case 'added':
      case 'addedBefore':
        // Ordered collections: we keep no order, so `addedBefore` is an `added`.
        this.collection(message.collection).added(message.id, message.fields);
        return;
      case 'changed':
        this.collection(message.collection).changed(message.id, message.fields, message.cleared);
        return;
      case 'removed':
        this.collection(message.collection).removed(message.id);
        return;
      case 'movedBefore':
        return;
      case 'ready':
        for (const id of message.subs) {
          this.#subs.get(id)?.markReady();
          this.#answered(id);
        }
        return;
      case 'nosub': {
        const sub = this.#subs.get(message.id);
        this.#answered(message.id);
        if (!sub) return;
        this.#subs.delete(message.id);
        const error = message.error === undefined ? undefined : DdpError.fromWire(message.error);
        sub.end(error, clientError('subscriptionStopped', `The server ended subscription '${sub.name}' before it was ready`, { name: sub.name }));
      }
    }
  }

  /** The socket dropped: nothing can be sent; the documents we hold are kept until the resync. */
  connectionLost(): void {
    this.#live = false;
    for (const sub of this.#subs.values()) sub.isReady = false;
    for (const collection of this.#collections.values()) collection.beginResync();
  }

  /** A session is ready (after re-login): send every subscription again. */
  resubscribe(): void {
    this.#live = true;
    this.#resyncWaiting = new Set(this.#subs.keys());
    for (const sub of this.#subs.values()) {
      this.#transport.send({ msg: 'sub', id: sub.id, name: sub.name, params: [...sub.params] });
    }
    this.#maybeEndResync();
  }

  /** Stop every subscription without sending anything (the client is closing). */
  close(): void {
    this.#live = false;
    for (const sub of this.#subs.values()) sub.end(undefined, clientError('clientClosed'));
    this.#subs.clear();
  }

  #stop(sub: Subscription): void {
    this.#subs.delete(sub.id);
    if (this.#live) this.#transport.send({ msg: 'unsub', id: sub.id });
    this.#answered(sub.id);
    sub.end(undefined, clientError('subscriptionStopped', `Subscription '${sub.name}' was stopped before it was ready`, { name: sub.name }));
  }

  #answered(id: string): void {
    if (!this.#resyncWaiting?.delete(id)) return;
    this.#maybeEndResync();
  }

  #maybeEndResync(): void {
    if (!this.#resyncWaiting || this.#resyncWaiting.size > 0) return;
    this.#resyncWaiting = undefined;
    for (const collection of this.#collections.values()) collection.endResync();
  }
}
