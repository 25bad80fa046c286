/**
 * A small DDP client over a real socket for the two-factor tests: it sets the user-agent and
 * `X-Forwarded-For` headers the trust rules look at, calls methods and hands back each
 * `result` both decoded and as the raw frame text, so error shapes can be checked byte for byte.
 */
import WebSocket from 'ws';
import { decode, encode } from '../../protocol/ejson.js';

/** A decoded message; the tests check the values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

/** What one method call came back with. */
export interface Outcome {
  /** The `result` message, decoded (dates as `Date`). */
  msg: Msg;
  /** The `result` frame exactly as received. */
  text: string;
}

export interface ClientOptions {
  userAgent?: string;
  /** Sent as `X-Forwarded-For` (the server must trust one proxy for it to count). */
  forwardedFor?: string;
}

/** A wire error from a failed call. */
export class CallError extends Error {
  constructor(readonly wire: Msg, readonly text: string) {
    super(`${String(wire.error)}: ${String(wire.reason)}`);
  }
}

const live = new Set<TestClient>();
let nextId = 0;

export class TestClient {
  /** Resolves when the socket closes, with the close code the client saw. */
  readonly closed: Promise<number>;
  isClosed = false;
  private readonly pending = new Map<string, (outcome: Outcome) => void>();

  private constructor(private readonly ws: WebSocket) {
    live.add(this);
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number) => {
        this.isClosed = true;
        live.delete(this);
        resolve(code);
      });
    });
    ws.on('error', () => {
      // 'close' follows.
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      const msg = decode(text) as Msg;
      if (msg.msg === 'ping') this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
      if (msg.msg === 'result' && typeof msg.id === 'string') {
        const done = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        done?.({ msg, text });
      }
    });
  }

  /** Open a socket to `url` and complete the DDP handshake. */
  static async connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const headers: Record<string, string> = { 'user-agent': options.userAgent ?? 'ddp-guard-2fa-tests/1.0' };
    if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const connected = new Promise<void>((resolve, reject) => {
      const onMessage = (data: WebSocket.RawData): void => {
        if ((decode(String(data)) as Msg).msg === 'connected') {
          ws.off('message', onMessage);
          resolve();
        }
      };
      ws.on('message', onMessage);
      void client.closed.then(() => reject(new Error('closed during the handshake')));
    });
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await connected;
    return client;
  }

  private send(msg: Msg): void {
    this.ws.send(encode(msg));
  }

  /** Call a method; resolves with the `result` message whether it succeeded or failed. */
  call(method: string, ...params: unknown[]): Promise<Outcome> {
    return this.callWith({}, method, params);
  }

  /** {@link call} with a `randomSeed` (the key by which a re-sent call is recognised). */
  callSeeded(randomSeed: string, method: string, ...params: unknown[]): Promise<Outcome> {
    return this.callWith({ randomSeed }, method, params);
  }

  private callWith(extra: Msg, method: string, params: unknown[]): Promise<Outcome> {
    const id = `m${++nextId}`;
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new Error(`call ${method}: socket closed`));
      this.pending.set(id, resolve);
      void this.closed.then(() => {
        if (this.pending.delete(id)) reject(new Error(`call ${method}: socket closed before the result`));
      });
      this.send({ msg: 'method', method, params, id, ...extra });
    });
  }

  /** Call and return the result; a wire error rejects with {@link CallError}. */
  async ok(method: string, ...params: unknown[]): Promise<unknown> {
    const { msg, text } = await this.call(method, ...params);
    if (msg.error !== undefined) throw new CallError(msg.error as Msg, text);
    return msg.result;
  }

  /** Call and return the wire error; a success rejects. */
  async fails(method: string, ...params: unknown[]): Promise<Msg> {
    const { msg } = await this.call(method, ...params);
    if (msg.error === undefined) throw new Error(`${method} was expected to fail but returned ${JSON.stringify(msg.result)}`);
    return msg.error as Msg;
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Terminate every client still open (after each test). */
export function closeAllClients(): void {
  for (const client of live) client.terminate();
  live.clear();
}
