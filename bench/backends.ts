/**
 * What PostgreSQL and Redis spend for the bench's servers (Linux /proc): the PostgreSQL backend
 * processes serving a given server process's pool (found by the client ports in their process
 * titles), and the redis-server process.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { cpuSeconds } from './proc.js';

const PG_PORT = 5432;

/** Local ports of `pid`'s TCP connections to port `remotePort`. */
function localPortsTo(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      if (remote === remotePort && inodes.has(f[9]!)) ports.add(local);
    }
  }
  return ports;
}

function processes(): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone
    }
  }
  return out;
}

/** PIDs of the PostgreSQL backends connected to any of `serverPids` (titles `postgres: … 127.0.0.1(<port>) …`). */
export function pgBackends(serverPids: readonly number[]): number[] {
  const ports = new Set<number>();
  for (const pid of serverPids) for (const p of localPortsTo(pid, PG_PORT)) ports.add(p);
  return processes().filter((p) => {
    const m = /^postgres: .*\((\d+)\)/.exec(p.cmdline);
    return m !== null && ports.has(Number(m[1]));
  }).map((p) => p.pid);
}

/** The redis-server process, if one runs on this machine. */
export function redisPid(): number | null {
  return processes().find((p) => p.cmdline.startsWith('redis-server'))?.pid ?? null;
}

/** CPU seconds of each process still there (for {@link cpuSince}). */
export function cpuEach(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    try {
      m.set(pid, cpuSeconds(pid));
    } catch {
      // ended
    }
  }
  return m;
}

/**
 * CPU seconds used since `start` by the processes still there (one that ended meanwhile counts
 * 0, not minus its past) and by `born`, those that started since (all of theirs: a pool opens a
 * new connection, and PostgreSQL a new backend, after an idle one timed out).
 */
export function cpuSince(start: ReadonlyMap<number, number>, born: readonly number[] = []): number {
  let sum = 0;
  const all = new Map(start);
  for (const pid of born) if (!all.has(pid)) all.set(pid, 0);
  for (const [pid, before] of all) {
    try {
      sum += Math.max(0, cpuSeconds(pid) - before);
    } catch {
      // ended
    }
  }
  return sum;
}

/** CPU seconds of processes that may end meanwhile (an ended one counts 0). */
export function cpuOf(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid);
    } catch {
      // ended
    }
  }
  return sum;
}
