/**
 * A session's subscriptions: named ones (`sub`/`unsub`), universal ones (`publish(null)`), the
 * merge box they write through, `ready`/`nosub`, and the rerun after a login. Everything is
 * created on first use, because most idle connections subscribe to nothing.
 */
import { catalogueError } from '../../protocol/errors.js';
import type { Fields, SubMessage } from '../../protocol/messages.js';
import type { Caller } from '../calls/caller.js';
import type { ConnectionInfo } from '../calls/connection-info.js';
import type { ServerCore } from './server-core.js';
import { toWireError } from '../calls/wire-errors.js';
import { errorFields } from '../runtime/logger.js';
import { MergeBox, type MergeBoxSink } from '../publications/merge-box.js';
import type { PublicationDefinition } from '../calls/publication-registry.js';
import { Subscription, type SubscriptionHost } from '../publications/subscription.js';

/** What the subscriptions need from their session. */
export interface SubscriptionOwner extends Caller {
  readonly core: Pick<ServerCore<unknown>, 'options' | 'logger' | 'pipeline' | 'publications'>;
  readonly connection: ConnectionInfo;
  readonly id: string;
  readonly isConnected: boolean;
  sendMessage(msg: Record<string, unknown>): void;
}

export class SessionSubscriptions implements SubscriptionHost, MergeBoxSink {
  private box: MergeBox | null = null;
  private named: Map<string, Subscription> | null = null;
  private universal: Subscription[] = [];
  private readySent: Set<string> | null = null;
  /** While subscriptions rerun after a login, `ready` waits until the data difference is sent. */
  private pendingReady: string[] | null = null;
  private universalCount = 0;

  constructor(private readonly session: SubscriptionOwner) {}

  get mergeBox(): MergeBox {
    return (this.box ??= new MergeBox(this));
  }
  get connection(): ConnectionInfo {
    return this.session.connection;
  }
  get userId(): string | null {
    return this.session.userId;
  }
  private get subs(): Map<string, Subscription> {
    return (this.named ??= new Map());
  }

  counts(): { subscriptions: number; documents: number } {
    return { subscriptions: (this.named?.size ?? 0) + this.universal.length, documents: this.box?.size ?? 0 };
  }

  // ---- merge box output ----

  added(collection: string, id: string, fields: Fields): void {
    this.session.sendMessage({ msg: 'added', collection, id, fields });
  }

  changed(collection: string, id: string, fields: Fields, cleared: string[]): void {
    const msg: Record<string, unknown> = { msg: 'changed', collection, id };
    for (const _ in fields) {
      msg.fields = fields;
      break;
    }
    if (cleared.length > 0) msg.cleared = cleared;
    this.session.sendMessage(msg);
  }

  removed(collection: string, id: string): void {
    this.session.sendMessage({ msg: 'removed', collection, id });
  }

  // ---- sub / unsub ----

  async subscribe(msg: SubMessage): Promise<void> {
    if (!this.session.isConnected || this.named?.has(msg.id)) return; // a repeated sub id is ignored
    const { core } = this.session;
    const definition = core.publications.get(msg.name);
    if (!definition) {
      this.session.sendMessage({ msg: 'nosub', id: msg.id, error: catalogueError('subscriptionNotFound', msg.name).toWire() });
      return;
    }
    if (this.subs.size >= core.options.maxSubscriptions) {
      this.session.sendMessage({ msg: 'nosub', id: msg.id, error: catalogueError('tooManySubscriptions').toWire() });
      return;
    }
    const sub = new Subscription(this, msg.id, `s${msg.id}`, definition, msg.params);
    this.subs.set(msg.id, sub);
    try {
      await core.pipeline.run({ kind: 'subscription', name: msg.name, params: msg.params, definition, caller: this.session });
      await sub.run();
    } catch (err) {
      this.subscriptionEnded(sub, err);
    }
  }

  unsubscribe(id: string): void {
    const sub = this.named?.get(id);
    if (sub) this.end(sub);
    this.session.sendMessage({ msg: 'nosub', id });
  }

  /** Start the universal publications that apply to the current user (at the handshake). */
  startUniversal(definitions: readonly PublicationDefinition[]): void {
    for (const definition of applicable(definitions, this.session.userId)) {
      const sub = new Subscription(this, null, `u${++this.universalCount}`, definition, []);
      this.universal.push(sub);
      sub.run().catch((err: unknown) => this.subscriptionEnded(sub, err));
    }
  }

  private end(sub: Subscription): void {
    this.box?.removeSubscription(sub.key);
    sub.deactivate((err) => this.logError(err, 'onStop callback failed'));
    if (sub.subscriptionId === null) this.universal = this.universal.filter((s) => s !== sub);
    else {
      this.named?.delete(sub.subscriptionId);
      this.readySent?.delete(sub.subscriptionId);
    }
  }

  /** End every subscription without sending anything (the socket closed). */
  endAll(): void {
    for (const sub of [...(this.named?.values() ?? []), ...this.universal]) this.end(sub);
  }

  // ---- SubscriptionHost ----

  sendReady(subId: string): void {
    if (!this.session.isConnected) return;
    const sent = (this.readySent ??= new Set());
    if (sent.has(subId)) return;
    sent.add(subId);
    if (this.pendingReady) this.pendingReady.push(subId);
    else this.session.sendMessage({ msg: 'ready', subs: [subId] });
  }

  subscriptionEnded(sub: Subscription, err: unknown): void {
    if (sub.isStopped || !this.session.isConnected) return;
    this.end(sub);
    const logger = this.session.core.logger;
    if (sub.subscriptionId === null) {
      if (err !== undefined) toWireError(err, logger, { connectionId: this.session.id, publication: null });
      return;
    }
    const msg: Record<string, unknown> = { msg: 'nosub', id: sub.subscriptionId };
    if (err !== undefined) msg.error = toWireError(err, logger, { connectionId: this.session.id, publication: sub.definition.name, userId: this.session.userId });
    this.session.sendMessage(msg);
  }

  publisherBug(sub: Subscription, err: Error): void {
    this.session.core.logger.error({ connectionId: this.session.id, publication: sub.definition.name, ...errorFields(err) }, 'publication wrote a document inconsistently; the write was ignored');
  }

  private logError(err: unknown, message: string): void {
    this.session.core.logger.error({ connectionId: this.session.id, ...errorFields(err) }, message);
  }

  // ---- login ----

  /** Meteor's `setUserId`: every subscription reruns for the new user; the client gets only the difference. */
  async rerun(userId: string | null, universalDefinitions: readonly PublicationDefinition[]): Promise<void> {
    this.pendingReady = [];
    try {
      await this.mergeBox.rebuild(async () => {
        const named = [...(this.named?.values() ?? [])];
        const universal = this.universal;
        this.universal = [];
        for (const old of [...named, ...universal]) old.deactivate((err) => this.logError(err, 'onStop callback failed'));
        for (const definition of applicable(universalDefinitions, userId)) {
          const sub = new Subscription(this, null, `u${++this.universalCount}`, definition, []);
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
      const ready = this.pendingReady.filter((id) => this.named?.has(id) && this.readySent?.has(id));
      this.pendingReady = null;
      if (ready.length > 0) this.session.sendMessage({ msg: 'ready', subs: ready });
    }
  }
}

/** Universal publications registered with `requireUser` run only for logged-in sessions. */
export function applicable(definitions: readonly PublicationDefinition[], userId: string | null): PublicationDefinition[] {
  return userId === null ? definitions.filter((d) => !d.options.requireUser) : [...definitions];
}
