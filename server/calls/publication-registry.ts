/**
 * The publication registry: `server.publish(name, fn, options)`; `name === null` publishes to
 * every connection without a `sub` (Meteor's universal publications).
 */
import type { Fields } from '../../protocol/messages.js';
import type { ConnectionInfo } from './connection-info.js';
import type { Pattern } from './match.js';

/** Where a data source writes documents. */
export interface PublicationSink {
  added(collection: string, id: string, fields: Fields): void;
  changed(collection: string, id: string, fields: Fields): void;
  removed(collection: string, id: string): void;
}

/** Something a publish function can return instead of calling `added`/`ready` itself (a cursor-like source). */
export interface PublicationSource {
  /** Send the current documents to `sink`, keep it updated, and return how to stop. */
  publishTo(sink: PublicationSink): { stop(): void } | Promise<{ stop(): void }>;
}

/** `this` inside a publish function. */
export interface SubscriptionThis extends PublicationSink {
  /** The subscription id (`null` for a universal publication). */
  readonly subscriptionId: string | null;
  readonly userId: string | null;
  readonly connection: ConnectionInfo;
  /** Tell the client the initial documents are all sent. */
  ready(): void;
  /** End the subscription with an error sent in `nosub`. */
  error(err: unknown): void;
  /** End the subscription from the server side. */
  stop(): void;
  /** Run `fn` when the subscription ends (unsub, error, logout rerun, disconnect). */
  onStop(fn: () => void): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PublishHandler = (this: SubscriptionThis, ...params: any[]) => unknown;

export interface PublicationOptions {
  /** Patterns the parameters must match; a mismatch ends the subscription with 400 `Match failed`. */
  params?: readonly Pattern[];
  /** Refuse subscribers that are not logged in. */
  requireUser?: boolean;
}

export interface PublicationDefinition {
  readonly name: string | null;
  readonly handler: PublishHandler;
  readonly options: Readonly<PublicationOptions>;
}

export function isPublicationSource(value: unknown): value is PublicationSource {
  return typeof value === 'object' && value !== null && typeof (value as { publishTo?: unknown }).publishTo === 'function';
}

export class PublicationRegistry {
  private readonly named = new Map<string, PublicationDefinition>();
  readonly universal: PublicationDefinition[] = [];

  add(name: string | null, handler: PublishHandler, options: PublicationOptions = {}): void {
    if (typeof handler !== 'function') throw new TypeError(`Publication '${String(name)}' needs a function`);
    const definition = Object.freeze({ name, handler, options: Object.freeze({ ...options }) });
    if (name === null) {
      this.universal.push(definition);
      return;
    }
    if (name === '') throw new TypeError('A publication name must not be empty');
    if (this.named.has(name)) throw new Error(`A publication named '${name}' is already defined`);
    this.named.set(name, definition);
  }

  get(name: string): PublicationDefinition | undefined {
    return this.named.get(name);
  }
}
