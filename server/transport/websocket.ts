/**
 * The WebSocket transport: the only importer of `ws`. Routes upgrades to `/websocket` (raw DDP,
 * one message per text frame) and to SockJS's `/sockjs/:server/:session/websocket` (SockJS
 * framing), enforces text-only frames, the frame size limit, the buffered-output limit, the
 * origin allow-list and the per-address connection limit.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { CLOSE_CODES } from '../../protocol/constants.js';
import type { ResolvedOptions } from '../services/options.js';
import type { Logger } from '../runtime/logger.js';
import type { DdpSocket, SocketHandler } from './socket.js';
import { clientAddressOf, safeHeaders } from '../calls/connection-info.js';
import { encodeTextFrames } from './frames.js';
import { fragmentListOf, recycleFragmentList } from './fragment-list.js';
import { HeaderSets } from './header-sets.js';
import { decodeSockJsFrame, encodeSockJsClose, encodeSockJsMessages, SOCKJS_OPEN, isSockJsWebSocketPath } from './sockjs.js';

/** Called for each accepted socket; returns the handler that receives its frames. */
export type AcceptSocket = (socket: DdpSocket) => SocketHandler;

type Framing = 'raw' | 'sockjs';

/** Grace period for the closing handshake of a client that does not read, before the TCP socket is destroyed. */
const SLOW_CONSUMER_GRACE_MS = 1000;

/**
 * ws's socket with a slot for its DDP socket (found from the ws by the shared listeners), declared in the class so every instance has it in
 * the object itself (a property added later would cost each idle connection a property array).
 */
class OwnedWebSocket extends WebSocket {
  owner: WsDdpSocket | null = null;
}

// One listener function for all sockets, not a closure per socket: idle connections are many.
// (`this` is always an OwnedWebSocket: the server makes no other kind.)
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as OwnedWebSocket).owner?.message(data, isBinary);
}
function onClose(this: WebSocket, code: number): void {
  (this as OwnedWebSocket).owner?.ended(code);
}

/**
 * Corking while a chunk is being parsed: `ws` parses every frame of a chunk read from the TCP
 * socket in one synchronous pass, and a method that answers synchronously writes its reply
 * inside that pass, so the replies to pipelined calls should leave in one `writev` instead of
 * one `write` each. A write made while more of the chunk is still to be parsed corks the socket,
 * and it is uncorked on the next tick, which runs as soon as the chunk's listeners return,
 * before any promise callback. A write with nothing more to parse (the reply to the chunk's last
 * or only frame, a heartbeat, an async method's reply, a server ping) goes out at once: corking
 * it would only add a tick, a queued entry and a new write queue per message, garbage that an
 * idle connection's heartbeats made every 15–30 s. The bytes on the wire are the same either
 * way. (Node's HTTP server corks its responses the same way.)
 */
function uncorkAfterChunk(tcp: Socket): void {
  tcp.uncork();
}

interface ReceiverBytes { _bufferedBytes?: unknown }

/**
 * Whether `ws`'s receiver holds bytes of the chunk not parsed yet (frames that follow the one
 * being delivered). `_receiver._bufferedBytes` is a `ws` 8.x internal: without it every write
 * is corked until the next tick, as all of them were before
 * (test/server/transport-fragments.test.ts checks that it is there).
 */
export function moreToParse(ws: WebSocket): boolean {
  const receiver = (ws as unknown as { _receiver?: ReceiverBytes | null })._receiver;
  const pending = receiver?._bufferedBytes;
  return typeof pending === 'number' ? pending > 0 : true;
}

class WsDdpSocket implements DdpSocket {
  private closing = false;
  private done = false;
  handler: SocketHandler | null = null;
  /** ws's frame list of this connection, given back after each message (transport/fragment-list.ts says why). */
  private fragments: unknown[] | null = null;

  constructor(
    private readonly transport: WebSocketTransport,
    private readonly ws: OwnedWebSocket,
    private readonly tcp: Socket,
    readonly clientAddress: string,
    readonly httpHeaders: Readonly<Record<string, string>>,
    private readonly framing: Framing,
  ) {
    ws.owner = this;
    ws.on('close', onClose);
    ws.on('error', transport.onSocketError);
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  /** Start delivering frames to `handler`. */
  listen(handler: SocketHandler): void {
    this.handler = handler;
    this.fragments = fragmentListOf(this.ws);
    this.ws.on('message', onMessage);
  }

  message(data: RawData, isBinary: boolean): void {
    const handler = this.handler;
    if (!handler) return;
    if (isBinary) {
      this.close(CLOSE_CODES.unsupportedData, 'Binary frames are not supported: DDP is text only');
      return;
    }
    if (this.fragments !== null) recycleFragmentList(this.ws, this.fragments);
    const text = rawToString(data);
    if (this.framing === 'raw') {
      handler.receive(text);
      return;
    }
    const messages = decodeSockJsFrame(text);
    if (messages === null) {
      this.close(CLOSE_CODES.protocolError, 'Broken SockJS framing');
      return;
    }
    for (const message of messages) handler.receive(message);
  }

  ended(code: number): void {
    if (this.done) return;
    this.done = true;
    this.transport.socketEnded(this.clientAddress);
    this.handler?.closed(code);
  }

  send(frames: readonly string[]): void {
    if (!this.open || frames.length === 0) return;
    const texts = this.framing === 'sockjs' ? [encodeSockJsMessages(frames)] : frames;
    const { perMessageDeflate, maxBufferedBytes } = this.transport.options;
    const tcp = this.tcp;
    if (tcp.writableCorked === 0 && moreToParse(this.ws)) {
      tcp.cork();
      process.nextTick(uncorkAfterChunk, tcp);
    }
    if (perMessageDeflate) {
      for (const text of texts) this.ws.send(text);
    } else {
      // One buffer, one write. Without compression ws never queues frames, so writing to the
      // TCP socket directly keeps the order of everything ws itself sends.
      tcp.write(encodeTextFrames(texts));
    }
    if (this.ws.bufferedAmount > maxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, 'Client does not read: buffered output limit exceeded');
      setTimeout(() => this.ws.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
    }
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.framing === 'sockjs') this.ws.send(encodeSockJsClose(code, reason));
    this.ws.close(code, reason);
  }
}

/** Count of open sockets per client address, for `maxConnectionsPerAddress`. */
class AddressCounter {
  private readonly counts = new Map<string, number>();
  add(address: string): number {
    const n = (this.counts.get(address) ?? 0) + 1;
    this.counts.set(address, n);
    return n;
  }
  remove(address: string): void {
    const n = (this.counts.get(address) ?? 1) - 1;
    if (n <= 0) this.counts.delete(address);
    else this.counts.set(address, n);
  }
}

/** The WebSocket side of a server: attach to an HTTP server's `upgrade` event. */
export class WebSocketTransport {
  private readonly wss: WebSocketServer;
  private readonly addresses = new AddressCounter();
  private readonly headerSets = new HeaderSets();
  private openSockets = 0;

  constructor(
    readonly options: ResolvedOptions,
    private readonly accept: AcceptSocket,
    private readonly logger: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: OwnedWebSocket,
      maxPayload: options.maxFrameBytes,
      clientTracking: false,
      perMessageDeflate: options.perMessageDeflate
        ? { threshold: 1024, zlibDeflateOptions: { level: 1 }, serverNoContextTakeover: true, clientNoContextTakeover: true }
        : false,
    });
  }

  /** One listener for every socket (a closure per socket would cost memory on idle connections). */
  readonly onSocketError = (err: Error): void => {
    this.logger.debug({ err: err.message }, 'websocket error');
  };

  /** Number of open sockets. */
  get size(): number {
    return this.openSockets;
  }

  attach(server: HttpServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    let framing: Framing;
    if (path === '/websocket' || path === '/websocket/') framing = 'raw';
    else if (this.options.sockjs && isSockJsWebSocketPath(path)) framing = 'sockjs';
    else return rejectUpgrade(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (this.options.allowedOrigins !== null && origin !== undefined && !this.options.allowedOrigins.includes(origin)) {
      return rejectUpgrade(socket, 403, 'Forbidden');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connection(ws as OwnedWebSocket, socket as Socket, req, framing));
  }

  private connection(ws: OwnedWebSocket, tcp: Socket, req: IncomingMessage, framing: Framing): void {
    const address = clientAddressOf(tcp.remoteAddress ?? '', req.headers, this.options.httpForwardedCount);
    const ddpSocket = new WsDdpSocket(this, ws, tcp, address, this.headerSets.intern(safeHeaders(req.headers)), framing);
    this.openSockets++;
    const count = this.addresses.add(address);
    if (framing === 'sockjs') ws.send(SOCKJS_OPEN);
    if (this.options.maxConnectionsPerAddress > 0 && count > this.options.maxConnectionsPerAddress) {
      ddpSocket.close(CLOSE_CODES.tryAgainLater, 'Too many connections from this address');
      return;
    }
    ddpSocket.listen(this.accept(ddpSocket));
  }

  /** A socket closed: forget it in the counts. */
  socketEnded(address: string): void {
    this.openSockets--;
    this.addresses.remove(address);
  }

  close(): void {
    this.wss.close();
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
