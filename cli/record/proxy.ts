/**
 * The proxy of `ddp-guard record`: a WebSocket server that opens, for each client, a socket to
 * the target and passes every frame through unchanged both ways (text or binary, SockJS framing
 * included), printing each DDP message with its direction and keeping the messages of each
 * session for the transcript.
 *
 * Like the transcript runner's socket, a client of any DDP server that lives under `cli/` (see
 * test/architecture/layers.test.ts).
 * @module
 */
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import type { RecordedMessage } from './redact.js';
import { messagesOf } from './sockjs.js';

/** Settings of {@link startProxy}. */
export interface ProxyOptions {
  host: string;
  port: number;
  /** The server's WebSocket URL. */
  target: string;
  /** Prints one line of live traffic. */
  print(line: string): void;
  /** Called when a client's session ends, with its messages. */
  onSessionEnd(index: number, messages: RecordedMessage[]): void;
}

/** A listening proxy. */
export interface Proxy {
  /** The port it listens on. */
  port: number;
  /** Sessions still open, with their messages so far. */
  openSessions(): { index: number; messages: RecordedMessage[] }[];
  close(): Promise<void>;
}

const MAX_SHOWN = 200;

/** Listens; rejects when the address cannot be bound. */
export function startProxy(options: ProxyOptions): Promise<Proxy> {
  const sessions = new Map<number, RecordedMessage[]>();
  let count = 0;
  const wss = new WebSocketServer({ host: options.host, port: options.port, perMessageDeflate: false });
  wss.on('connection', (client: WebSocket, request: IncomingMessage) => {
    const index = ++count;
    const messages: RecordedMessage[] = [];
    sessions.set(index, messages);
    options.print(`· session ${index}: ${request.socket.remoteAddress ?? 'client'} connected, opening ${options.target}`);
    const upstream = new WebSocket(options.target, { perMessageDeflate: false, headers: forwardedHeaders(request) });
    const pending: { data: WebSocket.RawData; isBinary: boolean }[] = [];
    let ended = false;
    const end = (why: string): void => {
      if (ended) return;
      ended = true;
      options.print(`· session ${index}: ${why}`);
      if (client.readyState === WebSocket.OPEN) client.close(1000);
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      sessions.delete(index);
      options.onSessionEnd(index, messages);
    };
    const relay = (data: WebSocket.RawData, isBinary: boolean, fromServer: boolean): void => {
      if (!isBinary) {
        for (const message of messagesOf(String(data), fromServer)) {
          messages.push({ fromServer, message });
          const text = typeof message === 'string' ? message : JSON.stringify(message);
          options.print(`${fromServer ? '←' : '→'} ${index} ${text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text}`);
        }
      }
      (fromServer ? client : upstream).send(data, { binary: isBinary });
    };
    client.on('message', (data, isBinary) => {
      if (upstream.readyState === WebSocket.OPEN) relay(data, isBinary, false);
      else pending.push({ data, isBinary });
    });
    upstream.on('open', () => {
      for (const p of pending.splice(0)) relay(p.data, p.isBinary, false);
    });
    upstream.on('message', (data, isBinary) => relay(data, isBinary, true));
    upstream.on('error', (err) => end(`the target failed (${err.message})`));
    upstream.on('close', (code) => end(`the target closed the connection (${code})`));
    client.on('close', () => end('the client disconnected'));
    client.on('error', () => end('the client connection failed'));
  });
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      const address = wss.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : options.port,
        openSessions: () => [...sessions].map(([index, messages]) => ({ index, messages })),
        close: () =>
          new Promise((done) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

/** Headers a server may look at (cookies, origin, user agent), passed on as the client sent them. */
function forwardedHeaders(request: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['cookie', 'origin', 'user-agent', 'authorization']) {
    const value = request.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
