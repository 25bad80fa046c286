/**
 * The local view of one collection: the documents the server published to this connection,
 * kept up to date by `added`, `changed` and `removed`.
 */
import { ejsonEquals, type Fields } from '../protocol/index.js';
import { Emitter } from './emitter.js';

/** A document as the application reads it: its fields plus `_id`, as in Meteor. */
export type Doc<T extends Fields = Fields> = T & { _id: string };

/** A document arrived. */
export interface AddedEvent<T extends Fields = Fields> { collection: string; id: string; fields: T }
/** A document changed: `fields` holds the new values, `cleared` the names removed. */
export interface ChangedEvent<T extends Fields = Fields> { collection: string; id: string; fields: Partial<T>; cleared: string[] }
/** A document went away; `fields` holds its last fields. */
export interface RemovedEvent<T extends Fields = Fields> { collection: string; id: string; fields: T }

/** Events of a collection view (and, for all collections, of the client). */
export interface CollectionEvents<T extends Fields = Fields> {
  added: [event: AddedEvent<T>];
  changed: [event: ChangedEvent<T>];
  removed: [event: RemovedEvent<T>];
}

/**
 * The read side of a local collection. The type parameter is the application's promise about
 * the documents' shape; the client does not check it.
 */
export interface CollectionView<T extends Fields = Fields> {
  readonly name: string;
  /** Number of documents. */
  readonly size: number;
  /** A copy of one document, or undefined. */
  get(id: string): Doc<T> | undefined;
  has(id: string): boolean;
  /** Copies of the documents, optionally filtered, in arrival order. */
  find(filter?: (doc: Doc<T>) => boolean): Doc<T>[];
  /** The first document that matches. */
  findOne(filter?: (doc: Doc<T>) => boolean): Doc<T> | undefined;
  ids(): string[];
  on<K extends keyof CollectionEvents<T>>(event: K, listener: (...args: CollectionEvents<T>[K]) => void): () => void;
  off<K extends keyof CollectionEvents<T>>(event: K, listener: (...args: CollectionEvents<T>[K]) => void): void;
}

/** Told of every change, whichever collection: the client re-emits these. */
export interface ChangeSink {
  added(event: AddedEvent): void;
  changed(event: ChangedEvent): void;
  removed(event: RemovedEvent): void;
}

/** The writable store behind a {@link CollectionView}. */
export class LocalCollection extends Emitter<CollectionEvents> implements CollectionView {
  readonly name: string;
  readonly #docs = new Map<string, Fields>();
  readonly #sink: ChangeSink;
  /** Ids seen since {@link beginResync}; undefined when no resync runs. */
  #seen: Set<string> | undefined;

  constructor(name: string, sink: ChangeSink) {
    super();
    this.name = name;
    this.#sink = sink;
  }

  get size(): number {
    return this.#docs.size;
  }

  get(id: string): Doc | undefined {
    const fields = this.#docs.get(id);
    return fields ? { ...fields, _id: id } : undefined;
  }

  has(id: string): boolean {
    return this.#docs.has(id);
  }

  find(filter?: (doc: Doc) => boolean): Doc[] {
    const docs: Doc[] = [];
    for (const [id, fields] of this.#docs) {
      const doc = { ...fields, _id: id };
      if (!filter || filter(doc)) docs.push(doc);
    }
    return docs;
  }

  findOne(filter?: (doc: Doc) => boolean): Doc | undefined {
    for (const [id, fields] of this.#docs) {
      const doc = { ...fields, _id: id };
      if (!filter || filter(doc)) return doc;
    }
    return undefined;
  }

  ids(): string[] {
    return [...this.#docs.keys()];
  }

  /**
   * Apply `added`. During a resync the server re-sends documents we still hold: that is a
   * replacement, reported as `changed` only if something differs.
   */
  added(id: string, fields: Fields = {}): void {
    this.#seen?.add(id);
    const old = this.#docs.get(id);
    if (!old) {
      this.#docs.set(id, { ...fields });
      this.#added({ collection: this.name, id, fields: { ...fields } });
      return;
    }
    const changedFields: Fields = {};
    for (const [key, value] of Object.entries(fields)) if (!(key in old) || !ejsonEquals(old[key], value)) changedFields[key] = value;
    const cleared = Object.keys(old).filter((key) => !(key in fields));
    this.#docs.set(id, { ...fields });
    if (Object.keys(changedFields).length > 0 || cleared.length > 0) {
      this.#changed({ collection: this.name, id, fields: changedFields, cleared });
    }
  }

  /** Apply `changed`: merge `fields`, delete `cleared`. Unknown ids are ignored. */
  changed(id: string, fields: Fields = {}, cleared: string[] = []): void {
    const doc = this.#docs.get(id);
    if (!doc) return;
    const updated: Fields = { ...doc, ...fields };
    const removedKeys = cleared.filter((key) => key in updated);
    for (const key of removedKeys) delete updated[key];
    this.#docs.set(id, updated);
    this.#changed({ collection: this.name, id, fields: { ...fields }, cleared: removedKeys });
  }

  /** Apply `removed`. Unknown ids are ignored. */
  removed(id: string): void {
    const doc = this.#docs.get(id);
    if (!doc) return;
    this.#docs.delete(id);
    this.#removed({ collection: this.name, id, fields: doc });
  }

  /** A reconnect starts: remember which documents the new session sends again. */
  beginResync(): void {
    this.#seen = new Set();
  }

  /** The new session has sent everything: documents it did not send again are gone. */
  endResync(): void {
    const seen = this.#seen;
    this.#seen = undefined;
    if (!seen) return;
    for (const id of [...this.#docs.keys()]) if (!seen.has(id)) this.removed(id);
  }

  #added(event: AddedEvent): void {
    this.emit('added', event);
    this.#sink.added(event);
  }

  #changed(event: ChangedEvent): void {
    this.emit('changed', event);
    this.#sink.changed(event);
  }

  #removed(event: RemovedEvent): void {
    this.emit('removed', event);
    this.#sink.removed(event);
  }
}
