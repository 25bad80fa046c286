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

const live = new Set<{ terminate(): void }>();

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

/** One WebSocket frame as a {@link RawTcpClient} saw it. */
export interface RawFrame {
  opcode: number;
  /** Payload length on the wire. */
  length: number;
  /** The payload, when it is no longer than the client's `keepPayloadUpTo`; else empty. */
  payload: Buffer;
}

/**
 * A WebSocket client written over a bare TCP socket: it does the upgrade by hand and parses
 * frames itself, cheaply (large payloads are counted, not kept). It answers nothing on its own,
 * not even a close frame, and lets a test pause and resume reading at the TCP level.
 */
export class RawTcpClient {
  readonly frames: RawFrame[] = [];
  bytesReceived = 0;
  isClosed = false;
  readonly closed: Promise<void>;
  private pending = Buffer.alloc(0);
  private current: { opcode: number; length: number; got: number; parts: Buffer[] | null } | null = null;
  private wake: (() => void)[] = [];

  private constructor(readonly socket: import('node:net').Socket, private readonly keepPayloadUpTo: number) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        live.delete(this);
        resolve();
        this.notify();
      });
    });
    socket.on('error', () => {
      // 'close' follows.
    });
  }

  /** Open `ws://host:port/path` by hand; resolves after the 101 response. */
  static async connect(url: string, keepPayloadUpTo = 64 * 1024): Promise<RawTcpClient> {
    const { connect } = await import('node:net');
    const { hostname, port, pathname } = new URL(url);
    const socket = connect(Number(port), hostname);
    const client = new RawTcpClient(socket, keepPayloadUpTo);
    await new Promise<void>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, end).toString('latin1').split('\r\n')[0]!;
        if (!status.startsWith('HTTP/1.1 101')) {
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        socket.on('data', (data: Buffer) => client.receive(data));
        if (head.length > end + 4) client.receive(head.subarray(end + 4));
        resolve();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    live.add(client);
    return client;
  }

  /** Send one masked text frame, as a client must. */
  sendText(text: string): void {
    const payload = Buffer.from(text, 'utf8');
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    let header: Buffer;
    if (payload.length < 126) header = Buffer.from([0x81, 0x80 | payload.length]);
    else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header.writeUInt8(0x81, 0);
      header.writeUInt8(0x80 | 126, 1);
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header.writeUInt8(0x81, 0);
      header.writeUInt8(0x80 | 127, 1);
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    this.socket.write(Buffer.concat([header, mask, payload]));
  }

  /** Text frames received, decoded as EJSON. */
  get messages(): Msg[] {
    return this.frames.filter((f) => f.opcode === 1 && f.payload.length === f.length).map((f) => decode(f.payload.toString('utf8')) as Msg);
  }

  /** The close frame's code and reason, if one arrived. */
  get closeFrame(): { code: number; reason: string } | null {
    const frame = this.frames.find((f) => f.opcode === 8);
    if (!frame) return null;
    return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString('utf8') };
  }

  /** The first frame (already received or still to come) that matches. */
  waitForFrame(predicate: (frame: RawFrame) => boolean, timeoutMs = 2000): Promise<RawFrame> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        const found = this.frames.find(predicate);
        if (found) {
          clearTimeout(deadline);
          resolve(found);
        } else if (this.isClosed) {
          clearTimeout(deadline);
          reject(new Error('socket closed without a matching frame'));
        } else {
          this.wake.push(check);
        }
      };
      check();
    });
  }

  terminate(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const fn of this.wake.splice(0)) fn();
  }

  private receive(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (!this.current) {
        if (data.length < 2) break;
        const len7 = data[1]! & 0x7f;
        const headerLength = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (data.length < headerLength) break;
        const length = len7 === 126 ? data.readUInt16BE(2) : len7 === 127 ? Number(data.readBigUInt64BE(2)) : len7;
        this.current = { opcode: data[0]! & 0x0f, length, got: 0, parts: length <= this.keepPayloadUpTo ? [] : null };
        data = data.subarray(headerLength);
      }
      const frame = this.current;
      const take = Math.min(frame.length - frame.got, data.length);
      frame.parts?.push(data.subarray(0, take));
      frame.got += take;
      data = data.subarray(take);
      if (frame.got < frame.length) break;
      this.frames.push({ opcode: frame.opcode, length: frame.length, payload: frame.parts ? Buffer.concat(frame.parts) : Buffer.alloc(0) });
      this.current = null;
    }
    if (data.length > 0) this.pending = Buffer.from(data);
    this.notify();
  }
}
