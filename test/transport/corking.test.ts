/**
 * Automatic corking: replies written while the transport handles one chunk of client frames
 * leave in one write of the TCP socket, byte for byte as they would have left one by one, and a
 * reply written later (an asynchronous method) is not held back; the reply to a chunk's last
 * or only frame (a heartbeat's pong, most of an idle connection's traffic) is written at once,
 * without a cork, a tick and a write queue of its own.
 */
import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';
import { WebSocketTransport } from '../../server/transport/websocket.js';
import { resolveOptions } from '../../server/services/options.js';
import { silentLogger } from '../../server/index.js';
import type { DdpSocket } from '../../server/transport/socket.js';

interface Rig {
  url: string;
  /** For each `now:x` frame: how many writes reached the socket during its own send() (1: at once, 0: corked until the next tick). */
  writesDuringSend: number[];
  /** Writes (`_write` + `_writev` calls) made on the server side of the connection so far. */
  writes(): number;
  close(): Promise<void>;
}

/** A transport whose handler answers `sync:x` at once with two frames and `later:x` 20 ms later. */
async function rig(): Promise<Rig> {
  const http: HttpServer = createServer();
  let writes = 0;
  const writesDuringSend: number[] = [];
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    // Count the writes that reach the stream implementation (one per syscall batch).
    const counted = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = counted._write.bind(socket);
    const writev = counted._writev.bind(socket);
    counted._write = (...a: unknown[]) => {
      writes++;
      write(...a);
    };
    counted._writev = (...a: unknown[]) => {
      writes++;
      writev(...a);
    };
  });
  const transport = new WebSocketTransport(resolveOptions({ perMessageDeflate: false }), (socket: DdpSocket) => ({
    receive(text: string): void {
      const [kind, value] = text.split(':') as [string, string];
      if (kind === 'sync') socket.send([`r${value}`, `u${value}`]);
      else if (kind === 'now') {
        const before = writes;
        socket.send([`n${value}`]);
        writesDuringSend.push(writes - before);
      }
      else setTimeout(() => socket.send([`late${value}`]), 20);
    },
    closed(): void {},
  }), silentLogger);
  transport.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/websocket`,
    writesDuringSend,
    writes: () => writes,
    close: async () => {
      transport.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function open(url: string): Promise<{ ws: WebSocket; received: string[]; until(n: number): Promise<void> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const received: string[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data) => {
    received.push(data.toString());
    wake?.();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    received,
    async until(n: number): Promise<void> {
      while (received.length < n) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

/** Send the texts as frames in ONE write of the client's TCP socket. */
function sendTogether(ws: WebSocket, texts: string[]): void {
  const tcp = (ws as unknown as { _socket: Socket })._socket;
  tcp.cork();
  for (const text of texts) ws.send(text);
  tcp.uncork();
}

describe('transport: replies to a chunk of frames leave in one write', () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });
  afterEach(async () => {
    await r.close();
  });

  it('answers eight pipelined frames (sixteen replies) with fewer writes than frames, in order', async () => {
    const client = await open(r.url);
    const before = r.writes();
    sendTogether(client.ws, ['1', '2', '3', '4', '5', '6', '7', '8'].map((n) => `sync:${n}`));
    await client.until(16);
    const used = r.writes() - before;
    expect(client.received).to.deep.equal(['1', '2', '3', '4', '5', '6', '7', '8'].flatMap((n) => [`r${n}`, `u${n}`]));
    // One chunk read gives one write; loopback may split the eight frames over two reads at most.
    expect(used).to.be.at.least(1).and.at.most(2);
  });

  it('does not hold back a reply written after the chunk was handled', async () => {
    const client = await open(r.url);
    const started = Date.now();
    sendTogether(client.ws, ['later:a', 'sync:b']);
    await client.until(3);
    expect(client.received).to.deep.equal(['rb', 'ub', 'latea']);
    // The late reply left when it was written, not at some next read (there is none).
    expect(Date.now() - started).to.be.below(1000);
  });

  it('writes the reply to a chunk\'s only or last frame at once, and corks only while more frames of the chunk wait', async () => {
    const client = await open(r.url);
    client.ws.send('now:a');
    await client.until(1);
    sendTogether(client.ws, ['now:b', 'now:c', 'now:d']);
    await client.until(4);
    expect(client.received).to.deep.equal(['na', 'nb', 'nc', 'nd']);
    // a: alone, written during its send. b, c: more frames followed in the chunk, so corked (no
    // write yet); d: the chunk's last frame, its reply joins the corked ones (still no write).
    // Loopback may split a chunk; the first frame of the second part is then written at once.
    expect(r.writesDuringSend[0]).to.equal(1);
    expect(r.writesDuringSend.slice(1).filter((w) => w === 0).length).to.be.at.least(2);
  });
});
