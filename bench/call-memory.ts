/**
 * What remembering call outcomes costs (a re-sent call runs once: server/calls/call-memory.ts).
 * The project's client sends a `randomSeed` with every call, so each call of a logged-in user
 * claims a row and completes it. This runs sequential `echo` calls from that client against a
 * server in the same process, on a fresh store, with `callResultWindowMs` 0 (off) and at its
 * default, alternating, and prints the CPU per call (client and server together) and the wall
 * time per call of each run, then the medians and their difference.
 *
 *   node dist/bench/call-memory.js [--calls 5000] [--rounds 3] [--db postgres://…] [--json]
 *
 * Without `--db` each run gets a new SQLite file in a temporary folder (`serve`'s default
 * store); with a PostgreSQL URL each run gets its own schema, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNode } from '../client/node.js';
import { createUserRecord } from '../server/accounts/admin.js';
import { createServer, silentLogger } from '../server/index.js';
import { DEFAULTS } from '../server/services/options.js';
import { isPostgresSpec } from '../server/storage/open.js';
import { SharedStore } from './fleet-procs.js';
import { spread } from './report.js';

interface Args { calls: number; rounds: number; db: string | null; json: boolean }

const USAGE = 'usage: node dist/bench/call-memory.js [--calls 5000] [--rounds 3] [--db postgres://…] [--json]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { calls: 5000, rounds: 3, db: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const count = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} must be a whole number ≥ 1, got '${v}'\n${USAGE}`);
      return n;
    };
    if (a === '--calls') args.calls = count();
    else if (a === '--rounds') args.rounds = count();
    else if (a === '--db') {
      args.db = value();
      if (!isPostgresSpec(args.db)) throw new Error(`--db takes a PostgreSQL URL (without it, each run uses a new SQLite file), got '${args.db}'`);
    } else if (a === '--json') args.json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option '${a}'\n${USAGE}`);
  }
  return args;
}

/** A fresh store for one run: its `db` option, its server secret, and how to remove it. */
function freshStore(db: string | null): { spec: string; secret: string; drop(): Promise<void> } {
  if (db === null) {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-guard-bench-call-memory-'));
    return { spec: join(dir, 'guard.sqlite'), secret: randomBytes(32).toString('hex'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const shared = new SharedStore(db);
  return { spec: shared.db, secret: shared.secret, drop: () => shared.drop() };
}

interface RunFigures { windowMs: number; cpuUsPerCall: number; wallUsPerCall: number }

async function run(windowMs: number, args: Args): Promise<RunFigures> {
  const store = freshStore(args.db);
  const server = createServer({ db: store.spec, secret: store.secret, logger: silentLogger, port: 0, host: '127.0.0.1', callResultWindowMs: windowMs });
  server.methods({ echo: (...params: unknown[]) => params });
  try {
    await server.listen();
    const services = await server.services.get();
    await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'bench', password: 'bench-password' });
    const client = await connectNode(server.url);
    try {
      await client.loginWithPassword('bench', 'bench-password');
      for (let i = 0; i < Math.min(500, args.calls); i++) await client.call('echo', i); // warm-up
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < args.calls; i++) await client.call('echo', i);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return { windowMs, cpuUsPerCall: (cpu.user + cpu.system) / args.calls, wallUsPerCall: (wallMs * 1000) / args.calls };
    } finally {
      client.close();
    }
  } finally {
    await server.close();
    await store.drop();
  }
}

const median = (xs: readonly number[]): number => spread(xs).median;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const windows = [0, DEFAULTS.callResultWindowMs];
  const runs: RunFigures[] = [];
  const store = args.db === null ? 'a new SQLite file per run' : 'a new PostgreSQL schema per run';
  if (!args.json) process.stdout.write(`call memory: ${args.calls} sequential echo calls from the project's client per run, ${args.rounds} rounds, ${store}\n`);
  for (let round = 1; round <= args.rounds; round++) {
    for (const windowMs of windows) {
      const figures = await run(windowMs, args);
      runs.push(figures);
      if (!args.json) process.stdout.write(`  round ${round}, callResultWindowMs ${windowMs}: ${figures.cpuUsPerCall.toFixed(0)} µs CPU, ${figures.wallUsPerCall.toFixed(0)} µs wall per call\n`);
    }
  }
  const of = (w: number, key: 'cpuUsPerCall' | 'wallUsPerCall'): number => median(runs.filter((r) => r.windowMs === w).map((r) => r[key]));
  const [off, on] = windows as [number, number];
  const summary = {
    offCpuUs: of(off, 'cpuUsPerCall'),
    onCpuUs: of(on, 'cpuUsPerCall'),
    offWallUs: of(off, 'wallUsPerCall'),
    onWallUs: of(on, 'wallUsPerCall'),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ calls: args.calls, rounds: args.rounds, store, runs, summary }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`median CPU per call: ${summary.offCpuUs.toFixed(0)} µs off, ${summary.onCpuUs.toFixed(0)} µs remembered (+${(summary.onCpuUs - summary.offCpuUs).toFixed(0)} µs, ${(summary.onCpuUs / summary.offCpuUs).toFixed(2)}×)\n`);
  process.stdout.write(`median wall per call: ${summary.offWallUs.toFixed(0)} µs off, ${summary.onWallUs.toFixed(0)} µs remembered (+${(summary.onWallUs - summary.offWallUs).toFixed(0)} µs)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`call-memory bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
