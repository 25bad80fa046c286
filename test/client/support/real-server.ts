/** Start the real ddp-guard server on loopback for end-to-end client tests. */
import { createServer, silentLogger, type DdpServer } from '../../../server/index.js';
import type { ServerOptions } from '../../../server/index.js';

/** A listening server: port 0 picks a free port; pass a port to restart on the same one. */
export async function startServer(setup: (server: DdpServer) => void, options: ServerOptions = {}): Promise<DdpServer> {
  const defaults: Record<string, unknown> = { port: 0, host: '127.0.0.1', logger: silentLogger, db: 'memory', shutdownTimeoutMs: 200 };
  // ServerOptions currently types each default as its literal (Object.freeze keeps literals),
  // so `port: 0` does not type-check; reported to the lead. Remove the cast once fixed.
  const server = createServer({ ...defaults, ...options } as ServerOptions);
  setup(server);
  await server.listen();
  return server;
}

/** The port a server listens on. */
export function portOf(server: DdpServer): number {
  const address = server.address();
  if (!address) throw new Error('server not listening');
  return address.port;
}
