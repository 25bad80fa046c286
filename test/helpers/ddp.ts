/**
 * A small DDP test client over a raw `ws` socket: connect and handshake, call methods (each
 * call resolves once both its `result` and its `updated` have arrived), subscribe, and keep
 * every message in order so tests can check what came when. Documents sent with
 * `added`/`changed`/`removed` are collected per collection, both as events and as the
 * client's merged view. It answers server pings, as every DDP client must.
 */
import WebSocket from 'ws';
import { decode, encode } from '../../protocol/ejson.js';

/** A decoded message; `any` fields keep assertions short, the tests check the values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

/** An error as it crosses the wire (Meteor.Error's EJSON shape). */
export interface WireErrorShape {
  error: string | number;
  reason?: string;
  details?: Msg;
  message: string;
  errorType: string;
  isClientSafe: boolean;
}

/** The outcome of a method call. */
export interface CallOutcome {
  /** The method id. */
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  result?: any;
  error?: WireErrorShape;
  /** The `result` frame exactly as received. */
  raw: string;
  /** Position of the `result` and the `updated` messages in {@link DdpClient.log}. */
  resultIndex: number;
  updatedIndex: number;
}

/** A document event (`added`, `changed` or `removed`) with its position in the log. */
export interface DocEvent {
  msg: 'added' | 'changed' | 'removed';
  id: string;
  fields?: Msg;
  cleared?: string[];
  index: number;
}

interface Pending {
  id: string;
  resultIndex: number | null;
  updatedIndex: number | null;
  resolve(outcome: CallOutcome): void;
}

let nextCallId = 0;

export class DdpClient {
  /** Every message received, decoded, in order. */
  readonly log: Msg[] = [];
  /** The raw text of each entry of {@link log}. */
  readonly texts: string[] = [];
  /** Document events per collection, in order. */
  readonly events = new Map<string, DocEvent[]>();
  /** Resolves with the close code and reason when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed = false;
  session = '';
  private readonly view = new Map<string, Map<string, Msg>>();
  private readonly pending = new Map<string, Pending>();
  private waiters: (() => boolean)[] = [];

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        resolve({ code, reason: reason.toString('utf8') });
        this.wake();
      });
    });
    ws.on('error', () => {
      // 'close' follows.
    });
    ws.on('message', (data: WebSocket.RawData) => this.receive(String(data)));
  }

  /** Open a socket to `url` (`ws://host:port/websocket`) and complete the DDP handshake. */
  static async connect(url: string): Promise<DdpClient> {
    const ws = new WebSocket(url);
    const client = new DdpClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    client.send({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    const connected = await client.waitFor((m) => m.msg === 'connected' || m.msg === 'failed');
    if (connected.msg !== 'connected') throw new Error(`DDP handshake failed: ${JSON.stringify(connected)}`);
    client.session = String(connected.session);
    return client;
  }

  send(message: Msg): void {
    this.ws.send(encode(message));
  }

  /** Call a method; resolves when both its `result` and its `updated` have arrived. */
  call(method: string, ...params: unknown[]): Promise<CallOutcome> {
    return this.callWithId(`c${++nextCallId}`, method, ...params);
  }

  /** {@link call} with a chosen method id (to compare raw frames across connections). */
  callWithId(id: string, method: string, ...params: unknown[]): Promise<CallOutcome> {
    if (this.pending.has(id)) throw new Error(`method id ${id} is already pending`);
    const outcome = new Promise<CallOutcome>((resolve) => {
      this.pending.set(id, { id, resultIndex: null, updatedIndex: null, resolve });
    });
    this.send({ msg: 'method', method, params, id });
    return Promise.race([
      outcome,
      this.closed.then(() => {
        this.pending.delete(id);
        throw new Error(`the connection closed before method '${method}' (${id}) finished`);
      }),
    ]);
  }

  /** Subscribe; resolves with the `ready` or `nosub` message. */
  async subscribe(name: string, ...params: unknown[]): Promise<Msg> {
    const id = `s${++nextCallId}`;
    const from = this.log.length;
    this.send({ msg: 'sub', id, name, params });
    return this.waitFor((m) => (m.msg === 'ready' && Array.isArray(m.subs) && m.subs.includes(id)) || (m.msg === 'nosub' && m.id === id), 2000, from);
  }

  /** The first message at or after position `from` that matches. */
  waitFor(predicate: (m: Msg) => boolean, timeoutMs = 2000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no matching message within ${timeoutMs} ms; received: ${this.texts.slice(from).join(' ')}`));
      }, timeoutMs);
      const check = (): boolean => {
        const found = this.log.slice(from).find(predicate);
        if (found) {
          clearTimeout(timer);
          resolve(found);
          return true;
        }
        if (this.isClosed) {
          clearTimeout(timer);
          reject(new Error(`socket closed without a matching message; received: ${this.texts.slice(from).join(' ')}`));
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  /** The client's merged view of a collection (`id` → fields). */
  docs(collection: string): Map<string, Msg> {
    return this.view.get(collection) ?? new Map();
  }

  /** Document events of a collection at or after position `from` of the log. */
  eventsOf(collection: string, from = 0): DocEvent[] {
    return (this.events.get(collection) ?? []).filter((e) => e.index >= from);
  }

  /** Position of the next message, for {@link eventsOf} and {@link waitFor}. */
  mark(): number {
    return this.log.length;
  }

  /** Close from the client side and wait until the socket is closed. */
  async close(): Promise<void> {
    if (!this.isClosed) this.ws.close();
    await this.closed;
  }

  private receive(text: string): void {
    const msg = decode(text) as Msg;
    const index = this.log.length;
    this.log.push(msg);
    this.texts.push(text);
    switch (msg.msg) {
      case 'ping':
        this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
        break;
      case 'added':
      case 'changed':
      case 'removed':
        this.document(msg, index);
        break;
      case 'result': {
        const p = this.pending.get(msg.id as string);
        if (p) {
          p.resultIndex = index;
          this.settle(p);
        }
        break;
      }
      case 'updated':
        for (const id of (msg.methods ?? []) as string[]) {
          const p = this.pending.get(id);
          if (p) {
            p.updatedIndex = index;
            this.settle(p);
          }
        }
        break;
    }
    this.wake();
  }

  private document(msg: Msg, index: number): void {
    const collection = msg.collection as string;
    const id = msg.id as string;
    const event: DocEvent = { msg: msg.msg as DocEvent['msg'], id, index };
    if (msg.fields !== undefined) event.fields = msg.fields as Msg;
    if (msg.cleared !== undefined) event.cleared = msg.cleared as string[];
    let list = this.events.get(collection);
    if (!list) this.events.set(collection, (list = []));
    list.push(event);
    let docs = this.view.get(collection);
    if (!docs) this.view.set(collection, (docs = new Map()));
    if (msg.msg === 'added') docs.set(id, { ...(msg.fields as Msg | undefined) });
    else if (msg.msg === 'removed') docs.delete(id);
    else {
      const doc = docs.get(id) ?? {};
      Object.assign(doc, msg.fields as Msg | undefined);
      for (const key of (msg.cleared ?? []) as string[]) delete doc[key];
      docs.set(id, doc);
    }
  }

  private settle(p: Pending): void {
    if (p.resultIndex === null || p.updatedIndex === null) return;
    this.pending.delete(p.id);
    const msg = this.log[p.resultIndex]!;
    const outcome: CallOutcome = { id: p.id, raw: this.texts[p.resultIndex]!, resultIndex: p.resultIndex, updatedIndex: p.updatedIndex };
    if ('result' in msg) outcome.result = msg.result;
    if ('error' in msg) outcome.error = msg.error as WireErrorShape;
    p.resolve(outcome);
  }

  private wake(): void {
    this.waiters = this.waiters.filter((check) => !check());
  }
}

/** Clients opened by a test, closed together in `afterEach`. */
export class ClientPool {
  private readonly clients = new Set<DdpClient>();

  async connect(url: string): Promise<DdpClient> {
    const client = await DdpClient.connect(url);
    this.clients.add(client);
    return client;
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
