/**
 * A scripted DDP server on a real socket (`ws` on port 0), for client tests that need to see
 * exactly what the client sends, or make the server misbehave: stay silent, drop the socket,
 * refuse the version. By default it greets, answers `connect`, `ping`, known methods and `sub`.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { decode, encode, DdpError } from '../../../protocol/index.js';

/** A decoded client message as the fake server saw it. */
export type Received = Record<string, unknown> & { msg?: unknown };

/** A method of the fake server: return a result, or throw a DdpError to answer with it. */
export type FakeMethod = (params: unknown[], conn: FakeConnection) => unknown;

/** One client socket on the fake server. */
export class FakeConnection {
  readonly received: Received[] = [];
  readonly session: string;

  constructor(readonly socket: WebSocket, session: string) {
    this.session = session;
  }

  send(message: unknown): void {
    this.socket.send(encode(message));
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Drop the TCP connection without a close handshake, like a crashed server or a cut cable. */
  kill(): void {
    this.socket.terminate();
  }
}

/** Behaviour switches of the fake server. */
export interface FakeServerOptions {
  port?: number;
  /** `normal`: answer `connect`; `silent`: never answer; `failed`: answer `failed {version}`. */
  handshake?: 'normal' | 'silent' | 'failed';
  /** Version put in `failed`. */
  failedVersion?: string;
  /** Answer `ping`. */
  answerPings?: boolean;
  /** Send Meteor's msg-less greeting on open. */
  greeting?: boolean;
}

export class FakeDdpServer {
  readonly connections: FakeConnection[] = [];
  readonly methods = new Map<string, FakeMethod>();
  options: Required<FakeServerOptions>;
  readonly #wss: WebSocketServer;
  #sessions = 0;

  private constructor(wss: WebSocketServer, options: Required<FakeServerOptions>) {
    this.#wss = wss;
    this.options = options;
    wss.on('connection', (socket) => this.#accept(socket));
  }

  /** Start on `options.port` (0: any free port). */
  static async start(options: FakeServerOptions = {}): Promise<FakeDdpServer> {
    const resolved: Required<FakeServerOptions> = { port: 0, handshake: 'normal', failedVersion: '1', answerPings: true, greeting: true, ...options };
    const wss = new WebSocketServer({ port: resolved.port, host: '127.0.0.1', path: '/websocket' });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', () => resolve());
      wss.once('error', reject);
    });
    return new FakeDdpServer(wss, resolved);
  }

  get port(): number {
    return (this.#wss.address() as AddressInfo).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/websocket`;
  }

  /** The newest connection. */
  get last(): FakeConnection {
    const conn = this.connections[this.connections.length - 1];
    if (!conn) throw new Error('no connection yet');
    return conn;
  }

  /** Every message of every connection, in order, with the connection's index. */
  all(msg?: string): Received[] {
    return this.connections.flatMap((c) => c.received).filter((m) => msg === undefined || m.msg === msg);
  }

  /** Register a method answered automatically with `result` and `updated`. */
  method(name: string, fn: FakeMethod): void {
    this.methods.set(name, fn);
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(socket: WebSocket): void {
    const conn = new FakeConnection(socket, `session-${++this.#sessions}`);
    this.connections.push(conn);
    if (this.options.greeting) conn.sendRaw('{"server_id":"0"}');
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = decode(String(data)) as Received;
      conn.received.push(message);
      this.#answer(conn, message);
    });
  }

  #answer(conn: FakeConnection, message: Received): void {
    switch (message.msg) {
      case 'connect':
        if (this.options.handshake === 'normal') conn.send({ msg: 'connected', session: conn.session });
        else if (this.options.handshake === 'failed') conn.send({ msg: 'failed', version: this.options.failedVersion });
        return;
      case 'ping':
        if (this.options.answerPings) conn.send(message.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: message.id });
        return;
      case 'method': {
        const fn = this.methods.get(String(message.method));
        if (!fn) return; // Unknown methods hang: tests use that for in-flight calls.
        const id = String(message.id);
        const params = Array.isArray(message.params) ? (message.params as unknown[]) : [];
        void Promise.resolve()
          .then(() => fn(params, conn))
          .then(
            (result) => conn.send(result === undefined ? { msg: 'result', id } : { msg: 'result', id, result }),
            (error: unknown) => {
              const e = error instanceof DdpError ? error : new DdpError(500, 'Internal server error');
              conn.send({ msg: 'result', id, error: e.toWire() });
            },
          )
          .then(() => conn.send({ msg: 'updated', methods: [id] }));
        return;
      }
      case 'sub':
        conn.send({ msg: 'ready', subs: [message.id] });
        return;
      case 'unsub':
        conn.send({ msg: 'nosub', id: message.id });
        return;
      default:
    }
  }
}
