/**
 * Helpers of the reliability tests: a switchable SMTP path (a port that is closed, then a TCP
 * relay to a real SMTP sink on the same port), waiting for a condition, and stats polling.
 */
import net, { type AddressInfo } from 'node:net';
import type { DdpServer } from '../../server/index.js';

/**
 * A port the server's `smtpUrl` points at. `down()`: nothing listens (connections are refused,
 * as with a crashed mail server); `up(port)`: every connection is relayed to `port`.
 */
export class SmtpSwitch {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly port: number) {}

  /** A switch on a free port, down. */
  static async create(): Promise<SmtpSwitch> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return new SmtpSwitch(port);
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Relay connections to the SMTP server on `targetPort`. */
  async up(targetPort: number): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /** Stop listening and cut every relayed connection: the port is closed. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Poll `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Wait until every count of `server.stats()` is zero; fails naming what is left. */
export async function statsBackToZero(server: DdpServer, timeoutMs = 5000): Promise<void> {
  await eventually(() => Object.values(server.stats()).every((v) => v === 0), timeoutMs, `stats back to zero (now ${JSON.stringify(server.stats())})`)
    .catch(() => {
      throw new Error(`server.stats() did not return to zero: ${JSON.stringify(server.stats())}`);
    });
}
