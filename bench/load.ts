/**
 * The load generator: raw `ws` clients speaking either DDP or the baseline's `{id, params}`,
 * each keeping a fixed number of calls in flight and recording every latency.
 */
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { PING_TEXT, PONG_TEXT } from '../protocol/messages.js';

export type Protocol = 'ddp' | 'baseline';

export interface CallOptions {
  method: string;
  /** The payload string, already JSON (sent as the single parameter). */
  payloadJson: string;
}

/**
 * A client-to-server text frame of `text` (FIN, masked, payload under 126 bytes), built once.
 * The idle connections of the fleet bench send nothing but heartbeats: writing a prepared frame
 * to the TCP socket costs one write, where `ws.send` masks anew and writes header and payload
 * as two buffers through a cork each time. The mask key is drawn once per process (a server
 * sees a masked frame either way; RFC 6455 wants a fresh key per frame against proxies'
 * cache poisoning, which loopback load does not involve).
 */
function preparedClientFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}
const PING_FRAME = preparedClientFrame(PING_TEXT);
const PONG_FRAME = preparedClientFrame(PONG_TEXT);

/** One client connection with pipelined calls. */
export class LoadConnection {
  /** Server pings answered with a pong, over every DDP connection of this process. */
  static pongs = 0;
  /** Pings this process's connections sent ({@link ping}). */
  static pings = 0;
  /** When the last message arrived (performance.now() ms; the open time before any). */
  lastReceived = performance.now();
  private nextId = 0;
  private readonly sentAt = new Map<string, number>();
  private onReply: ((latencyMs: number) => void) | null = null;
  private readonly waiters = new Map<string, (msg: Record<string, unknown>) => void>();

  private constructor(private readonly ws: WebSocket, private readonly protocol: Protocol) {
    ws.on('message', (data) => this.message(data.toString()));
  }

  /**
   * `localAddress`: the source address to bind (any 127.x.y.z on Linux), for more source ports;
   * `localPort` a source port chosen by the caller (the kernel's own choice for a bound address
   * searches the whole range and gets slow with tens of thousands of sockets).
   */
  static async open(url: string, protocol: Protocol, headers: Record<string, string> = {}, localAddress?: string, localPort?: number): Promise<LoadConnection> {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers, ...(localAddress ? { localAddress } : {}), ...(localPort ? { localPort } : {}) });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const conn = new LoadConnection(ws, protocol);
    if (protocol === 'ddp') {
      const connected = new Promise<void>((resolve) => {
        conn.waiters.set('connected', () => resolve());
      });
      ws.send('{"msg":"connect","version":"1","support":["1"]}');
      await connected;
    }
    return conn;
  }

  private message(text: string): void {
    this.lastReceived = performance.now();
    // An idle connection receives only heartbeats: answered without parsing (the server's exact frames).
    if (text === PING_TEXT) {
      this.sendPrepared(PONG_FRAME, PONG_TEXT);
      LoadConnection.pongs++;
      return;
    }
    if (text === PONG_TEXT) return;
    const msg = JSON.parse(text) as Record<string, unknown>;
    if (this.protocol === 'ddp') {
      if (msg.msg === 'connected') this.waiters.get('connected')?.(msg);
      if (msg.msg === 'ping') {
        this.ws.send(msg.id === undefined ? PONG_TEXT : JSON.stringify({ msg: 'pong', id: msg.id }));
        LoadConnection.pongs++;
      }
      if (msg.msg !== 'result') return;
    }
    const id = msg.id as string;
    const waiter = this.waiters.get(id);
    if (waiter) {
      this.waiters.delete(id);
      waiter(msg);
      return;
    }
    const t = this.sentAt.get(id);
    if (t === undefined) return;
    this.sentAt.delete(id);
    this.onReply?.(performance.now() - t);
  }

  /** Send one call; the reply is reported to the `onReply` handler. */
  send(options: CallOptions): void {
    const id = String(++this.nextId);
    this.sentAt.set(id, performance.now());
    this.ws.send(this.protocol === 'ddp'
      ? `{"msg":"method","method":"${options.method}","params":[${options.payloadJson}],"id":"${id}"}`
      : `{"id":"${id}","params":[${options.payloadJson}]}`);
  }

  /** A DDP call awaited for its result message (setup steps such as login). */
  async request(method: string, params: unknown[]): Promise<Record<string, unknown>> {
    const id = `setup-${++this.nextId}`;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiters.set(id, resolve));
    this.ws.send(JSON.stringify({ msg: 'method', method, params, id }));
    return reply;
  }

  /**
   * Keep `inFlight` calls outstanding until `until` (performance.now() ms); resolves when the
   * last reply arrived. Latencies after `measureFrom` go to `latencies`.
   */
  run(options: CallOptions, inFlight: number, measureFrom: number, until: number, latencies: number[]): Promise<number> {
    let outstanding = 0;
    let measured = 0;
    return new Promise((resolve) => {
      this.onReply = (latency) => {
        outstanding--;
        const now = performance.now();
        if (now >= measureFrom && now < until) {
          latencies.push(latency);
          measured++;
        }
        if (now < until) {
          this.send(options);
          outstanding++;
        } else if (outstanding === 0) {
          this.onReply = null;
          resolve(measured);
        }
      };
      for (let i = 0; i < inFlight; i++) {
        this.send(options);
        outstanding++;
      }
    });
  }

  /**
   * Open loop: send call k at `start + k × periodMs` whether or not earlier replies came (a
   * stall then delays every call scheduled during it, as it would real users' calls), until
   * `until`; resolves when the last reply arrived. Latency is from each call's send to its
   * reply; those sent after `measureFrom` go to `latencies`.
   */
  runPaced(options: CallOptions, periodMs: number, measureFrom: number, until: number, latencies: number[]): Promise<number> {
    let outstanding = 0;
    let measured = 0;
    let sent = 0;
    let stopped = false;
    const start = performance.now();
    return new Promise((resolve) => {
      this.onReply = (latency) => {
        outstanding--;
        if (performance.now() - latency >= measureFrom) {
          latencies.push(latency);
          measured++;
        }
        if (stopped && outstanding === 0) {
          this.onReply = null;
          resolve(measured);
        }
      };
      const tick = (): void => {
        const now = performance.now();
        if (now >= until) {
          stopped = true;
          if (outstanding === 0) {
            this.onReply = null;
            resolve(measured);
          }
          return;
        }
        for (const due = Math.floor((now - start) / periodMs) + 1; sent < due; sent++) {
          this.send(options);
          outstanding++;
        }
        setTimeout(tick, Math.max(0, start + sent * periodMs - performance.now()));
      };
      tick();
    });
  }

  /** A client heartbeat `ping` (DDP, no id). */
  ping(): void {
    this.sendPrepared(PING_FRAME, PING_TEXT);
    LoadConnection.pings++;
  }

  /** A heartbeat as its prepared frame, straight to the TCP socket (without compression `ws` queues nothing, so order is kept); `ws.send` if the socket is not there. */
  private sendPrepared(frame: Buffer, text: string): void {
    const socket = (this.ws as unknown as { _socket?: Socket | null })._socket;
    if (socket && this.ws.readyState === WebSocket.OPEN) socket.write(frame);
    else this.ws.send(text);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Log a DDP connection in as the bench user; returns when the login result arrived. */
export async function login(conn: LoadConnection): Promise<void> {
  const digest = createHash('sha256').update('bench-password').digest('hex');
  const reply = await conn.request('login', [{ user: { username: 'bench' }, password: { digest, algorithm: 'sha-256' } }]);
  if (reply.error) throw new Error(`bench login failed: ${JSON.stringify(reply.error)}`);
}

/** Pass the guard once with the password fallback, so the session is trusted afterwards. */
export async function trustSession(conn: LoadConnection): Promise<void> {
  const digest = createHash('sha256').update('bench-password').digest('hex');
  const reply = await conn.request('echo.guarded', ['x', { twoFactorCode: digest, twoFactorMethod: 'password' }]);
  if (reply.error) throw new Error(`bench 2FA check failed: ${JSON.stringify(reply.error)}`);
}

/** p50, p90 and p99 of a list of latencies (ms). */
export function latencySummary(latencies: readonly number[]): { p50: number; p90: number; p99: number } {
  const sorted = Float64Array.from(latencies).sort();
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

/** p-th percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
