/**
 * A raw DDP client over `ws` for tests: it sends exactly what a test gives it and keeps every
 * frame it receives, so tests can check bytes, order and counts. It never answers server pings
 * on its own (DDP pings are application messages; `ws` only answers WebSocket-level pings).
 */
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { decode, encode } from '../../protocol/ejson.js';

/** A decoded message. `any` fields keep assertions short; the tests check the values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

export interface RawClientOptions extends ClientOptions {
  /** Unwrap SockJS framing (`o`, `a[...]`, `c[...]`) inbound and wrap outbound messages as `["..."]`. */
  sockjs?: boolean;
}

const live = new Set<RawClient>();

export class RawClient {
  /** Every text frame received, as received. */
  readonly texts: string[] = [];
  /** Every DDP message received, decoded (SockJS frames unwrapped). */
  readonly messages: Msg[] = [];
  /** The raw text of each entry of {@link messages}. */
  readonly messageTexts: string[] = [];
  /** Resolves when the socket closes, with the close code and reason the client saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed = false;
  /** Headers of the server's upgrade response. */
  responseHeaders: Record<string, string | string[] | undefined> = {};
  /** Index in {@link messages} of the next message `next()`/`waitFor()` look at. */
  private cursor = 0;
  private wake: (() => void)[] = [];

  private constructor(readonly ws: WebSocket, private readonly sockjs: boolean) {
    live.add(this);
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        live.delete(this);
        resolve({ code, reason: reason.toString('utf8') });
        this.notify();
      });
    });
    ws.on('upgrade', (res) => {
      this.responseHeaders = res.headers;
    });
    ws.on('error', () => {
      // 'close' follows; the test looks at `closed`.
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      this.texts.push(isBinary ? `<binary ${text.length}>` : text);
      if (this.sockjs) {
        if (text.startsWith('a')) for (const inner of JSON.parse(text.slice(1)) as string[]) this.push(inner);
      } else {
        this.push(text);
      }
      this.notify();
    });
  }

  private push(text: string): void {
    this.messageTexts.push(text);
    this.messages.push(decode(text) as Msg);
  }

  private notify(): void {
    for (const fn of this.wake.splice(0)) fn();
  }

  /** Open a socket (does not send `connect`). */
  static connect(url: string, options: RawClientOptions = {}): Promise<RawClient> {
    const { sockjs = false, ...wsOptions } = options;
    const ws = new WebSocket(url, wsOptions);
    const client = new RawClient(ws, sockjs);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode ?? '?'}`)));
      ws.once('error', reject);
    });
  }

  /** Connect and complete the DDP handshake; `connected` is consumed. */
  static async handshake(url: string, options: RawClientOptions = {}, connect: Msg = { msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] }): Promise<RawClient> {
    const client = await RawClient.connect(url, options);
    client.send(connect);
    await client.waitFor((m) => m.msg === 'connected');
    return client;
  }

  /** The session id from `connected`, if one arrived. */
  get session(): string | undefined {
    return this.messages.find((m) => m.msg === 'connected')?.session as string | undefined;
  }

  /** Send an object (EJSON-encoded) or a string as is, as one text frame. */
  send(message: Msg | string): void {
    const text = typeof message === 'string' ? message : encode(message);
    this.ws.send(this.sockjs && typeof message !== 'string' ? JSON.stringify([text]) : text);
  }

  sendBinary(data: Uint8Array): void {
    this.ws.send(data, { binary: true });
  }

  /** The next message after those already taken by `next()` or `waitFor()`. */
  next(timeoutMs = 2000): Promise<Msg> {
    return this.waitFor(() => true, timeoutMs);
  }

  /**
   * The first message from the cursor on that matches; the cursor moves past it. Rejects after
   * `timeoutMs`, or as soon as the socket is closed with no match left.
   */
  waitFor(predicate: (m: Msg) => boolean, timeoutMs = 2000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        reject(new Error(`no matching message within ${timeoutMs} ms; received after cursor: ${this.messageTexts.slice(this.cursor).join(' ')}`));
      }, timeoutMs);
      const check = (): void => {
        for (let i = this.cursor; i < this.messages.length; i++) {
          if (predicate(this.messages[i]!)) {
            this.cursor = i + 1;
            clearTimeout(deadline);
            resolve(this.messages[i]!);
            return;
          }
        }
        if (this.isClosed) {
          clearTimeout(deadline);
          reject(new Error(`socket closed without a matching message; received after cursor: ${this.messageTexts.slice(this.cursor).join(' ')}`));
          return;
        }
        this.wake.push(check);
      };
      check();
    });
  }

  /** Call a method and wait for its `result` (the `updated` is left for the test to see). */
  async call(method: string, params: unknown[] = [], id = `m${Math.random().toString(36).slice(2)}`): Promise<Msg> {
    this.send({ msg: 'method', method, params, id });
    return this.waitFor((m) => m.msg === 'result' && m.id === id);
  }

  /**
   * Wait until every message sent so far has been handled by the session's queue: a method
   * that does not exist is queued behind them and answered in order. The cursor stays put.
   */
  async sync(): Promise<void> {
    const id = `sync${Math.random().toString(36).slice(2)}`;
    const cursor = this.cursor;
    this.send({ msg: 'method', method: '__sync__', params: [], id });
    await this.waitFor((m) => m.msg === 'updated' && Array.isArray(m.methods) && m.methods.includes(id));
    this.cursor = cursor;
  }

  /** A position in {@link messages}, for {@link since}. */
  mark(): number {
    return this.messages.length;
  }

  /** Messages received since `mark`. */
  since(mark: number): Msg[] {
    return this.messages.slice(mark);
  }

  /** Messages received after the cursor (not yet consumed). */
  get unread(): Msg[] {
    return this.messages.slice(this.cursor);
  }

  /** Close without waiting; `closed` resolves when done. */
  close(code?: number): void {
    this.ws.close(code);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Terminate every client still open (call in `afterEach`). */
export function closeClients(): void {
  for (const client of live) client.terminate();
  live.clear();
}
