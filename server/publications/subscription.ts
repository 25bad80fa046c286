/**
 * One running subscription: the `this` of a publish function. Writes go through the
 * connection's merge box; `ready`, `nosub` and errors go to the host (the session).
 */
import type { Fields } from '../../protocol/messages.js';
import type { ConnectionInfo } from '../calls/connection-info.js';
import { isPublicationSource, type PublicationDefinition, type PublicationSource, type SubscriptionThis } from '../calls/publication-registry.js';
import { MergeBoxError, type MergeBox } from './merge-box.js';

/** What a subscription needs from its session. */
export interface SubscriptionHost {
  readonly mergeBox: MergeBox;
  readonly connection: ConnectionInfo;
  readonly userId: string | null;
  /** `ready` for a named subscription. */
  sendReady(subId: string): void;
  /** The subscription ended on its own (error or `stop()`): remove it and send `nosub`. */
  subscriptionEnded(sub: Subscription, err: unknown): void;
  /** A publisher bug worth logging but not worth a crash. */
  publisherBug(sub: Subscription, err: Error): void;
}

export class Subscription implements SubscriptionThis {
  private state: 'starting' | 'ready' | 'stopped' = 'starting';
  private readonly stopCallbacks: (() => void)[] = [];
  readonly userId: string | null;
  readonly connection: ConnectionInfo;

  constructor(
    private readonly host: SubscriptionHost,
    /** The client's id; `null` for a universal publication. */
    readonly subscriptionId: string | null,
    /** Merge-box key: unique per session. */
    readonly key: string,
    readonly definition: PublicationDefinition,
    readonly params: unknown[],
  ) {
    this.userId = host.userId;
    this.connection = host.connection;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isStopped(): boolean {
    return this.state === 'stopped';
  }

  /** Run the publish function; sources it returns are started, then the subscription is ready. */
  async run(): Promise<void> {
    const result: unknown = await this.definition.handler.apply(this, this.params);
    if (this.isStopped) return;
    const sources: PublicationSource[] = Array.isArray(result) ? result.filter(isPublicationSource) : isPublicationSource(result) ? [result] : [];
    if (sources.length === 0) return;
    for (const source of sources) {
      const handle = await source.publishTo(this);
      if (this.isStopped) {
        handle.stop();
        return;
      }
      this.onStop(() => handle.stop());
    }
    this.ready();
  }

  added(collection: string, id: string, fields: Fields): void {
    this.write(() => this.host.mergeBox.added(this.key, collection, id, fields));
  }

  changed(collection: string, id: string, fields: Fields): void {
    this.write(() => this.host.mergeBox.changed(this.key, collection, id, fields));
  }

  removed(collection: string, id: string): void {
    this.write(() => this.host.mergeBox.removed(this.key, collection, id));
  }

  private write(op: () => void): void {
    if (this.state === 'stopped') return;
    try {
      op();
    } catch (err) {
      if (err instanceof MergeBoxError) this.host.publisherBug(this, err);
      else throw err;
    }
  }

  ready(): void {
    if (this.state !== 'starting') return;
    this.state = 'ready';
    if (this.subscriptionId !== null) this.host.sendReady(this.subscriptionId);
  }

  error(err: unknown): void {
    if (this.state === 'stopped') return;
    this.host.subscriptionEnded(this, err);
  }

  stop(): void {
    if (this.state === 'stopped') return;
    this.host.subscriptionEnded(this, undefined);
  }

  onStop(fn: () => void): void {
    if (this.state === 'stopped') {
      fn();
      return;
    }
    this.stopCallbacks.push(fn);
  }

  /** Mark stopped and run the stop callbacks; sends nothing. */
  deactivate(onError: (err: unknown) => void): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const fn of this.stopCallbacks.splice(0)) {
      try {
        fn();
      } catch (err) {
        onError(err);
      }
    }
  }
}
