/** Loopback ports for tests that start programs on a port of their own. */
import net from 'node:net';

/** A loopback port that was free a moment ago: a server can listen on it, and nothing listens on it yet. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A loopback port nothing listens on (free a moment ago): for "cannot connect" tests. */
export const closedPort = freePort;
