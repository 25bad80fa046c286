/**
 * One load-generator process of the `fleet` bench (bench/fleet.ts): it opens idle connections
 * to the servers it is given from one loopback source address, holds them (answering every DDP
 * heartbeat ping with a pong, and pinging as Meteor's client does: bench/client-heartbeat.ts)
 * and reports on them, as the parent asks over IPC. A process may
 * hold at most `ulimit -Hn` sockets and one source address has only the ephemeral port range's
 * ports, so the parent gives each process its own 127.0.0.x and fewer sockets than either limit.
 */
import { LoadConnection, type Protocol } from './load.js';
import { ClientHeartbeats } from './client-heartbeat.js';

export interface FleetTarget { url: string; count: number }
export type ToGenerator =
  | { type: 'open'; targets: FleetTarget[]; protocol: Protocol; localAddress: string; batch: number; ports: [number, number] }
  | { type: 'count' }
  | { type: 'close' };
export type FromGenerator =
  | { type: 'progress'; opened: number; failed: number }
  | { type: 'opened'; opened: number; failed: number; firstError: string | null; ms: number }
  | { type: 'count'; open: number; pongs: number; pings: number; timedOut: number }
  | { type: 'closed' };

const conns: LoadConnection[] = [];
const heartbeats = new ClientHeartbeats();

function send(message: FromGenerator): void {
  process.send!(message);
}

/**
 * The next source port to use, in the ephemeral range. The kernel's pick for a socket bound to
 * an address (port 0) scans the ports every address uses and took most of the run's time
 * (system CPU) beyond 50 000 sockets; an explicit port of an address of our own is free unless
 * something else took it (then the connection is retried on the next one).
 */
let nextPort = 0;
function sourcePort([low, high]: [number, number]): number {
  if (nextPort < low || nextPort > high) nextPort = low;
  return nextPort++;
}

async function openOne(url: string, protocol: Protocol, localAddress: string, ports: [number, number]): Promise<LoadConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await LoadConnection.open(url, protocol, {}, localAddress, sourcePort(ports));
    } catch (err) {
      if (attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

async function open(targets: FleetTarget[], protocol: Protocol, localAddress: string, batch: number, ports: [number, number]): Promise<void> {
  const started = Date.now();
  // Round robin over the targets, so every server sees its connections arrive all along.
  const queue: string[] = [];
  const left = targets.map((t) => t.count);
  for (let more = true; more;) {
    more = false;
    targets.forEach((t, i) => {
      if (left[i]! > 0) {
        queue.push(t.url);
        left[i]!--;
        more = true;
      }
    });
  }
  let failed = 0;
  let firstError: string | null = null;
  let lastReport = Date.now();
  for (let i = 0; i < queue.length; i += batch) {
    const results = await Promise.allSettled(queue.slice(i, i + batch).map((url) => openOne(url, protocol, localAddress, ports)));
    for (const r of results) {
      if (r.status === 'fulfilled') {
        conns.push(r.value);
        if (protocol === 'ddp') heartbeats.add(r.value);
      }
      else {
        failed++;
        firstError ??= r.reason instanceof Error ? r.reason.message : String(r.reason);
      }
    }
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now();
      send({ type: 'progress', opened: conns.length, failed });
    }
  }
  send({ type: 'opened', opened: conns.length, failed, firstError, ms: Date.now() - started });
}

process.on('message', (m: ToGenerator) => {
  if (m.type === 'open') void open(m.targets, m.protocol, m.localAddress, m.batch, m.ports);
  else if (m.type === 'count') send({ type: 'count', open: conns.filter((c) => c.isOpen).length, pongs: LoadConnection.pongs, pings: LoadConnection.pings, timedOut: heartbeats.timedOut });
  else {
    heartbeats.stop();
    for (const c of conns) c.close();
    conns.length = 0;
    send({ type: 'closed' });
    process.disconnect();
  }
});
