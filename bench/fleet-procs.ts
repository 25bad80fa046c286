/**
 * Processes of the fleet bench (bench/fleet.ts): the servers (raw `ws` baselines or
 * `ddp-guard serve` on a shared PostgreSQL schema and Redis) and the load-generator processes
 * (bench/fleet-gen.ts), each with its loopback source address, and the probe (bench/fleet-probe.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readyPort, rssBytes } from './proc.js';
import { startShipped, type ShippedServer } from './shipped.js';
import type { FleetTarget, FromGenerator, ToGenerator } from './fleet-gen.js';
import type { Protocol } from './load.js';
import type { ProbeResult, ToProbe } from './fleet-probe.js';
import type { LoopStats } from './servers/ipc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface FleetServer { child: ChildProcess; pid: number; url: string; stop(): Promise<void> }

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  child.kill('SIGKILL');
}

/** `n` raw `ws` servers (bench/servers/baseline.ts), each its own process. */
export async function startBaselines(n: number): Promise<FleetServer[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(here, 'servers', 'baseline.js')], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const port = await readyPort(child, 'baseline');
    return { child, pid: child.pid!, url: `ws://127.0.0.1:${port}`, stop: () => stopChild(child) };
  }));
}

/** A fresh PostgreSQL schema (on `url`) and server secret shared by the serve processes of one run. */
export class SharedStore {
  readonly schema = `ddpguard_bench_${randomBytes(5).toString('hex')}`;
  /** The `--db` value: `url` with the schema (the store takes it from the `schema` parameter). */
  readonly db: string;
  readonly secret = randomBytes(32).toString('hex');

  constructor(private readonly url: string = PG_URL) {
    const db = new URL(url);
    db.searchParams.set('schema', this.schema);
    this.db = db.toString();
  }

  async drop(): Promise<void> {
    const admin = new pg.Client({ connectionString: this.url });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  }
}

/**
 * `n` `ddp-guard serve` processes with their defaults plus `--db <shared schema> --redis
 * <url>`, the bench app (echo, echo.guarded, the `bench` user) and `extraArgs`. The first one
 * starts alone (it migrates the schema and creates the user), the others together.
 */
export async function startServes(n: number, store: SharedStore, nodeFlags: readonly string[] = ['--expose-gc'], extraArgs: readonly string[] = [], app?: string): Promise<Array<FleetServer & ShippedServer>> {
  const one = async (): Promise<FleetServer & ShippedServer> => {
    const s = await startShipped(false, nodeFlags, ['--db', store.db, '--redis', REDIS_URL, ...extraArgs], { DDP_GUARD_SECRET: store.secret }, app);
    return { ...s, stop: async () => { await stopChild(s.child); s.cleanUp(); } };
  };
  const first = await one();
  const rest = await Promise.all(Array.from({ length: n - 1 }, one));
  return [first, ...rest];
}

/** Full GC in each server (over IPC), then their RSS. */
export async function gcRss(servers: readonly FleetServer[]): Promise<number[]> {
  for (const s of servers) s.child.send('gc');
  await new Promise((r) => setTimeout(r, 500 + 100 * servers.length));
  return servers.map((s) => rssBytes(s.pid));
}

/** One load-generator process. */
export class Generator {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (m: FromGenerator) => void>();
  opened = 0;
  failed = 0;

  /**
   * `nice`: the generator's CPU priority (`nice -n`, all its threads: node is started through
   * `nice`); 0 starts it as the other processes.
   */
  constructor(readonly localAddress: string, nice = 0) {
    const script = path.join(here, 'fleet-gen.js');
    this.child = nice === 0
      ? fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : spawn('nice', ['-n', String(nice), process.execPath, script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromGenerator) => {
      if (m.type === 'progress' || m.type === 'opened') {
        this.opened = m.opened;
        this.failed = m.failed;
      }
      const w = this.waiting.get(m.type);
      if (w) {
        this.waiting.delete(m.type);
        w(m);
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask<T extends FromGenerator['type']>(message: ToGenerator, answer: T): Promise<Extract<FromGenerator, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting.set(answer, (m) => resolve(m as Extract<FromGenerator, { type: T }>));
      this.child.once('exit', (code) => reject(new Error(`load generator ${this.localAddress} exited (${code})`)));
      this.child.send(message);
    });
  }

  open(targets: FleetTarget[], protocol: Protocol, ports: [number, number], batch = 100): Promise<Extract<FromGenerator, { type: 'opened' }>> {
    return this.ask({ type: 'open', targets, protocol, localAddress: this.localAddress, batch, ports }, 'opened');
  }

  count(): Promise<Extract<FromGenerator, { type: 'count' }>> {
    return this.ask({ type: 'count' }, 'count');
  }

  async close(): Promise<void> {
    await Promise.race([this.ask({ type: 'close' }, 'closed'), new Promise((r) => setTimeout(r, 10_000))]).catch(() => {});
    await stopChild(this.child);
  }
}

/** The ephemeral port range, and whether this process may write it (root outside a container). */
export function portRange(): { low: number; high: number; writable: boolean } {
  const file = '/proc/sys/net/ipv4/ip_local_port_range';
  const text = readFileSync(file, 'utf8');
  const [low, high] = text.trim().split(/\s+/).map(Number) as [number, number];
  let writable = false;
  try {
    writeFileSync(file, `${low} ${high}`); // the same values: only a test of the permission
    writable = true;
  } catch {
    writable = false;
  }
  return { low, high, writable };
}

/** Raises the range to 1024–65535 (only called when one source address needs more ports and it is writable). */
export function widenPortRange(): void {
  writeFileSync('/proc/sys/net/ipv4/ip_local_port_range', '1024 65535');
}

/** The probe process (bench/fleet-probe.ts): one probe at a time, each on a new connection. */
export class Prober {
  private readonly child = fork(path.join(here, 'fleet-probe.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

  run(url: string, protocol: Protocol, rate: number, ms: number, warmUpMs = 1000): Promise<ProbeResult> {
    return new Promise((resolve, reject) => {
      const exited = (code: number | null): void => reject(new Error(`fleet probe exited (${code})`));
      this.child.once('exit', exited);
      this.child.once('message', (m: ProbeResult) => {
        this.child.off('exit', exited);
        resolve(m);
      });
      this.child.send({ type: 'probe', url, protocol, rate, warmUpMs, ms } satisfies ToProbe);
    });
  }

  pid(): number {
    return this.child.pid!;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Starts GC-pause (and with `delay`, event-loop-delay) counting in each server (bench/servers/ipc.ts). */
export function startLoopStats(servers: readonly FleetServer[], delay: boolean): void {
  for (const s of servers) s.child.send(delay ? 'stats-start-delay' : 'stats-start');
}

/** What each server measured since {@link startLoopStats}. */
export function loopStats(servers: readonly FleetServer[]): Promise<LoopStats[]> {
  return Promise.all(servers.map((s) => new Promise<LoopStats>((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stats') {
        s.child.off('message', on);
        resolve(m as LoopStats);
      }
    };
    s.child.on('message', on);
    s.child.send('stats');
  })));
}
