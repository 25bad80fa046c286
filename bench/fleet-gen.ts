/**
 * One load-generator process of the `fleet` bench (bench/fleet.ts): it opens idle connections
 * to the servers it is given from one loopback source address, holds them (answering every DDP
 * heartbeat ping with a pong) and reports on them, as the parent asks over IPC. A process may
 * hold at most `ulimit -Hn` sockets and one source address has only the ephemeral port range's
 * ports, so the parent gives each process its own 127.0.0.x and fewer sockets than either limit.
 */
import { LoadConnection, type Protocol } from './load.js';

export interface FleetTarget { url: string; count: number }
export type ToGenerator =
  | { type: 'open'; targets: FleetTarget[]; protocol: Protocol; localAddress: string; batch: number }
  | { type: 'count' }
  | { type: 'close' };
export type FromGenerator =
  | { type: 'progress'; opened: number; failed: number }
  | { type: 'opened'; opened: number; failed: number; firstError: string | null; ms: number }
  | { type: 'count'; open: number; pongs: number }
  | { type: 'closed' };

const conns: LoadConnection[] = [];

function send(message: FromGenerator): void {
  process.send!(message);
}

async function open(targets: FleetTarget[], protocol: Protocol, localAddress: string, batch: number): Promise<void> {
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
    const results = await Promise.allSettled(queue.slice(i, i + batch).map((url) => LoadConnection.open(url, protocol, {}, localAddress)));
    for (const r of results) {
      if (r.status === 'fulfilled') conns.push(r.value);
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
  if (m.type === 'open') void open(m.targets, m.protocol, m.localAddress, m.batch);
  else if (m.type === 'count') send({ type: 'count', open: conns.filter((c) => c.isOpen).length, pongs: LoadConnection.pongs });
  else {
    for (const c of conns) c.close();
    conns.length = 0;
    send({ type: 'closed' });
    process.disconnect();
  }
});
