/**
 * The per-connection merge box (Meteor's `SessionCollectionView`): several subscriptions may
 * publish the same document; the client sees one view of it. For each field the first
 * subscription to set it wins until it clears it. The client is never sent `changed` or
 * `removed` for a document it was not sent `added` for.
 */
import type { Fields } from '../../protocol/messages.js';
import { ejsonEquals, ejsonClone } from '../../protocol/ejson.js';

/** Where merged changes go. */
export interface MergeBoxSink {
  added(collection: string, id: string, fields: Fields): void;
  changed(collection: string, id: string, fields: Fields, cleared: string[]): void;
  removed(collection: string, id: string): void;
}

/** A publisher bug: changing or removing a document it never added, or adding one twice. */
export class MergeBoxError extends Error {
  override name = 'MergeBoxError';
}

interface FieldValue { subId: string; value: unknown }

class DocumentView {
  /** Subscriptions that published this document. */
  readonly subs = new Set<string>();
  /** Per field, every subscription's value; the first entry is the one the client sees. */
  readonly fields = new Map<string, FieldValue[]>();

  visible(): Fields {
    const out: Fields = {};
    for (const [key, values] of this.fields) out[key] = values[0]!.value;
    return out;
  }

  /** Set (`value !== undefined`) or clear one subscription's field, noting what the client must be told. */
  set(subId: string, key: string, value: unknown, changes: Fields, cleared: string[]): void {
    const values = this.fields.get(key);
    if (value === undefined) {
      if (!values) return;
      const index = values.findIndex((v) => v.subId === subId);
      if (index < 0) return;
      const removed = values.splice(index, 1)[0]!;
      if (values.length === 0) {
        this.fields.delete(key);
        cleared.push(key);
      } else if (index === 0 && !ejsonEquals(removed.value, values[0]!.value)) {
        changes[key] = values[0]!.value;
      }
      return;
    }
    if (!values) {
      this.fields.set(key, [{ subId, value }]);
      changes[key] = value;
      return;
    }
    const mine = values.find((v) => v.subId === subId);
    if (!mine) {
      // Another subscription holds this field already: ours waits behind it.
      values.push({ subId, value });
      return;
    }
    if (values[0] === mine && !ejsonEquals(mine.value, value)) changes[key] = value;
    mine.value = value;
  }
}

function isEmpty(fields: Fields): boolean {
  for (const _ in fields) return false;
  return true;
}

export class MergeBox {
  private readonly collections = new Map<string, Map<string, DocumentView>>();
  private silent = false;

  constructor(private readonly sink: MergeBoxSink) {}

  /** Number of documents the client holds, over all collections. */
  get size(): number {
    let n = 0;
    for (const docs of this.collections.values()) n += docs.size;
    return n;
  }

  added(subId: string, collection: string, id: string, fields: Fields): void {
    let docs = this.collections.get(collection);
    if (!docs) this.collections.set(collection, (docs = new Map()));
    let view = docs.get(id);
    const isNew = view === undefined;
    if (!view) docs.set(id, (view = new DocumentView()));
    if (view.subs.has(subId)) throw new MergeBoxError(`Document '${id}' in '${collection}' was already added by this subscription`);
    view.subs.add(subId);
    const changes: Fields = {};
    for (const key of Object.keys(fields)) {
      if (key === '_id') continue;
      const value = fields[key];
      if (value !== undefined) view.set(subId, key, ejsonClone(value), changes, []);
    }
    if (this.silent) return;
    if (isNew) this.sink.added(collection, id, changes);
    else if (!isEmpty(changes)) this.sink.changed(collection, id, changes, []);
  }

  changed(subId: string, collection: string, id: string, fields: Fields): void {
    const view = this.collections.get(collection)?.get(id);
    if (!view || !view.subs.has(subId)) throw new MergeBoxError(`Could not find document '${id}' in '${collection}' to change`);
    const changes: Fields = {};
    const cleared: string[] = [];
    for (const key of Object.keys(fields)) {
      if (key === '_id') continue;
      const value = fields[key];
      view.set(subId, key, value === undefined ? undefined : ejsonClone(value), changes, cleared);
    }
    if (!this.silent && (!isEmpty(changes) || cleared.length > 0)) this.sink.changed(collection, id, changes, cleared);
  }

  removed(subId: string, collection: string, id: string): void {
    const docs = this.collections.get(collection);
    const view = docs?.get(id);
    if (!docs || !view || !view.subs.has(subId)) throw new MergeBoxError(`Could not find document '${id}' in '${collection}' to remove`);
    this.removeFrom(subId, collection, docs, id, view);
  }

  /** Withdraw everything a subscription published (on unsub, stop or error). */
  removeSubscription(subId: string): void {
    for (const [collection, docs] of this.collections) {
      for (const [id, view] of docs) {
        if (view.subs.has(subId)) this.removeFrom(subId, collection, docs, id, view);
      }
    }
  }

  private removeFrom(subId: string, collection: string, docs: Map<string, DocumentView>, id: string, view: DocumentView): void {
    view.subs.delete(subId);
    if (view.subs.size === 0) {
      docs.delete(id);
      if (docs.size === 0) this.collections.delete(collection);
      if (!this.silent) this.sink.removed(collection, id);
      return;
    }
    const changes: Fields = {};
    const cleared: string[] = [];
    for (const key of [...view.fields.keys()]) view.set(subId, key, undefined, changes, cleared);
    if (!this.silent && (!isEmpty(changes) || cleared.length > 0)) this.sink.changed(collection, id, changes, cleared);
  }

  /**
   * Rebuild the view silently with `rebuild` (e.g. rerunning every subscription after a login),
   * then send the client only the difference between what it had and what it has now.
   */
  async rebuild(rebuild: () => Promise<void>): Promise<void> {
    const before = this.snapshot();
    this.collections.clear();
    this.silent = true;
    try {
      await rebuild();
    } finally {
      this.silent = false;
    }
    this.sendDifference(before);
  }

  private snapshot(): Map<string, Map<string, Fields>> {
    const out = new Map<string, Map<string, Fields>>();
    for (const [collection, docs] of this.collections) {
      const copy = new Map<string, Fields>();
      for (const [id, view] of docs) copy.set(id, view.visible());
      out.set(collection, copy);
    }
    return out;
  }

  private sendDifference(before: Map<string, Map<string, Fields>>): void {
    for (const [collection, docs] of this.collections) {
      const old = before.get(collection);
      for (const [id, view] of docs) {
        const now = view.visible();
        const was = old?.get(id);
        if (!was) {
          this.sink.added(collection, id, now);
          continue;
        }
        const changes: Fields = {};
        const cleared: string[] = [];
        for (const key of Object.keys(now)) if (!(key in was) || !ejsonEquals(was[key], now[key])) changes[key] = now[key];
        for (const key of Object.keys(was)) if (!(key in now)) cleared.push(key);
        if (!isEmpty(changes) || cleared.length > 0) this.sink.changed(collection, id, changes, cleared);
      }
    }
    for (const [collection, docs] of before) {
      const current = this.collections.get(collection);
      for (const id of docs.keys()) if (!current?.has(id)) this.sink.removed(collection, id);
    }
  }
}
