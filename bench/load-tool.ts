/**
 * `npm run bench:load`: is `ddp-guard load` ever the bottleneck? Two measurements against the
 * floor server (bench/servers/floor.ts: a minimal DDP server, so the server is not what
 * limits), with the floor on core 0 and each load generator pinned to core 1 where `taskset`
 * exists:
 *
 * 1. calls per load-generator CPU-second of `ddp-guard load` (a transcript of 1000 calls per
 *    session, each session on a fresh connection) and of the bench's own generator
 *    (bench/load-gen.ts: raw `ws`, one call in flight per connection, connections kept open),
 *    with the same number of connections, in alternating slices of a few seconds (A B, B A,
 *    A B, …: each pair in the other order than the last, so a drift of the machine weighs on
 *    both) after a 2-s `ddp-guard load` that warms the floor up. Each slice is a new process,
 *    cold, measured from before its first connection to after its last close; the result is
 *    the ratio of summed calls over summed CPU-seconds, with the median and range of the pairs'
 *    ratios;
 *    With `--together`, the two slices of a pair run at the same time, both on core 1, so that
 *    they meet the same conditions (each then has about half the core);
 * 2. 10 000 virtual users held from one `ddp-guard load` process (each connects, calls once,
 *    then sleeps), counted by their `connected` answers and the VUs busy at the peak.
 *
 * Options: `--pairs <n>` (default 6), `--seconds <n>` per slice (default 5), `--vus <n>` for
 * the second part (default 10000, 0 to skip it), `--connections <n>` (default 50), `--together`, `--json`
 * (every slice and the summary as JSON on stdout).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, hasTaskset, readyPort } from './proc.js';
import { spread } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'cli', 'main.js');
const GEN = path.join(here, 'load-gen.js');
const USAGE = 'usage: node dist/bench/load-tool.js [--pairs 6] [--seconds 5] [--connections 50] [--vus 10000] [--together] [--json]';

interface Args { pairs: number; seconds: number; connections: number; vus: number; together: boolean; json: boolean }

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { pairs: 6, seconds: 5, connections: 50, vus: 10_000, together: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a === '--together') {
      args[a === '--json' ? 'json' : 'together'] = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const key = a.slice(2);
    if (!a.startsWith('--') || !(key in args)) throw new Error(`unknown option '${a}'\n${USAGE}`);
    const v = argv[++i];
    const n = Number(v);
    const least = key === 'vus' ? 0 : key === 'seconds' ? 0.5 : 1;
    if (v === undefined || !Number.isFinite(n) || n < least || (key !== 'seconds' && !Number.isInteger(n))) throw new Error(`${a} must be a ${key === 'seconds' ? 'number' : 'whole number'} ≥ ${least}, got '${v ?? ''}'\n${USAGE}`);
    (args as unknown as Record<string, number>)[key] = n;
  }
  return args;
}

let args: Args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench:load: ${(err as Error).message}\n`);
  process.exit(1);
}
const { pairs: PAIRS, seconds: SECONDS, connections: CONNECTIONS, vus: VUS } = args;

const TASKSET = hasTaskset();
const pinned = (core: number, argv: string[]): [string, string[]] => (TASKSET ? ['taskset', ['-c', String(core), ...argv]] : [argv[0]!, argv.slice(1)]);

async function startFloor(): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, argv] = pinned(0, [process.execPath, path.join(here, 'servers', 'floor.js'), '--heartbeat-ms', '60000']);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await readyPort(child, 'floor');
  return { child, url: `ws://127.0.0.1:${port}/websocket` };
}

/** A child pinned to core 1; its stdout once it exited 0. */
function runPinned(name: string, argv: string[]): Promise<string> {
  const [cmd, pinnedArgv] = pinned(1, [process.execPath, ...argv]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, pinnedArgv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited ${code}: ${err}`))));
  });
}

/** `ddp-guard load` in a child pinned to core 1; its JSON report. */
async function runLoad(url: string, transcript: string, json: string, extra: string[]): Promise<Record<string, unknown>> {
  await runPinned('ddp-guard load', [CLI, 'load', url, '--script', transcript, '--json', json, ...extra]);
  return JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
}

/** One measured slice of one generator. */
interface Slice { pair: number; generator: 'ddp-guard load' | 'bench generator'; startedAt: string; loadAverage: number; calls: number; cpuSeconds: number; wallSeconds: number; callsPerCpuSecond: number; connectionsOpened: number; floorCpuSeconds: number | null }

async function loadSlice(url: string, transcript: string, json: string, pair: number): Promise<Slice> {
  const startedAt = new Date().toISOString();
  const loadAverage = loadavg()[0]!;
  const report = await runLoad(url, transcript, json, ['--vus', String(CONNECTIONS), '--duration', `${Math.round(SECONDS * 1000)}ms`]);
  const gen = report.loadGenerator as { cpuMs: number };
  const totals = report.totals as { calls: number };
  const opened = (report.figures as { name: string; count: number }[]).find((f) => f.name === 'connect')?.count ?? 0;
  const cpuSeconds = gen.cpuMs / 1000;
  return { pair, generator: 'ddp-guard load', startedAt, loadAverage, calls: totals.calls, cpuSeconds, wallSeconds: (report.durationMs as number) / 1000, callsPerCpuSecond: totals.calls / cpuSeconds, connectionsOpened: opened, floorCpuSeconds: null };
}

async function benchSlice(url: string, pair: number): Promise<Slice> {
  const startedAt = new Date().toISOString();
  const loadAverage = loadavg()[0]!;
  const out = await runPinned('bench generator', [GEN, url, '--seconds', String(SECONDS), '--connections', String(CONNECTIONS)]);
  const r = JSON.parse(out) as { calls: number; cpuMs: number; wallMs: number; connections: number };
  const cpuSeconds = r.cpuMs / 1000;
  return { pair, generator: 'bench generator', startedAt, loadAverage, calls: r.calls, cpuSeconds, wallSeconds: r.wallMs / 1000, callsPerCpuSecond: r.calls / cpuSeconds, connectionsOpened: r.connections, floorCpuSeconds: null };
}

/** The ratio of summed calls over summed CPU-seconds, and the pairs' own ratios. */
function summarize(slices: readonly Slice[]): { ratio: number; pairRatios: number[]; median: number; min: number; max: number; met: boolean } {
  const perCpu = (g: Slice['generator'], within: readonly Slice[]): number => {
    const mine = within.filter((s) => s.generator === g);
    return mine.reduce((a, s) => a + s.calls, 0) / mine.reduce((a, s) => a + s.cpuSeconds, 0);
  };
  const ratio = perCpu('ddp-guard load', slices) / perCpu('bench generator', slices);
  const pairRatios = [...new Set(slices.map((s) => s.pair))].map((p) => {
    const pair = slices.filter((s) => s.pair === p);
    return perCpu('ddp-guard load', pair) / perCpu('bench generator', pair);
  });
  return { ratio, pairRatios, ...spread(pairRatios), met: ratio >= 1 };
}

const dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-bench-load-'));
const floor = await startFloor();
if (TASKSET) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
const print = (text: string): void => {
  if (!args.json) process.stdout.write(text);
};
const result: Record<string, unknown> = { pairs: PAIRS, secondsPerSlice: SECONDS, connections: CONNECTIONS, together: args.together, taskset: TASKSET };
try {
  process.stderr.write(`bench:load — floor server on core 0, load generators on core 1 (taskset ${TASKSET ? 'on' : 'not available'}); ${PAIRS} pairs of ${SECONDS}-s slices${args.together ? ', both at once' : ''}, ${CONNECTIONS} connections\n`);
  const calls = ['> {"msg":"connect","version":"1","support":["1"]}', '< {"msg":"connected"}'];
  for (let i = 1; i <= 1000; i++) calls.push(`> {"msg":"method","method":"echo","params":["hi"],"id":"${i}"}`, `< {"msg":"result","id":"${i}"}`);
  const many = path.join(dir, 'calls.ddp');
  writeFileSync(many, `${calls.join('\n')}\n`);
  // The floor server's code is compiled and optimised before either generator is measured, by
  // a 2-s `ddp-guard load` in a process of its own: the generators' own code stays cold in
  // every slice, so each one's CPU time includes its own warm-up.
  await runLoad(floor.url, many, path.join(dir, 'warm-up.json'), ['--vus', String(CONNECTIONS), '--duration', '2s']);
  const slices: Slice[] = [];
  print('pair | generator | UTC | load avg | calls | calls/s | CPU-s | calls per CPU-s | connections opened | floor µs CPU per call\n');
  for (let pair = 1; pair <= PAIRS; pair++) {
    // A B, then B A: the order alternates so that neither generator always runs first. With
    // --together both run at the same time, sharing core 1 (and whatever else runs there).
    const order = pair % 2 === 1 ? ['load', 'bench'] : ['bench', 'load'];
    const run = (which: string): Promise<Slice> => (which === 'load' ? loadSlice(floor.url, many, path.join(dir, `slice-${pair}.json`), pair) : benchSlice(floor.url, pair));
    const pairSlices: Slice[] = [];
    if (args.together) pairSlices.push(...(await Promise.all(order.map(run))));
    else {
      for (const which of order) {
        // The floor's CPU time during the slice (process start included): how much work each
        // generator's traffic gave the server (not measured when both run at once).
        const floor0 = cpuSeconds(floor.child.pid!);
        const slice = await run(which);
        slice.floorCpuSeconds = cpuSeconds(floor.child.pid!) - floor0;
        pairSlices.push(slice);
      }
    }
    for (const s of pairSlices) {
      slices.push(s);
      print(`${[pair, s.generator, s.startedAt.slice(11, 19), s.loadAverage.toFixed(2), s.calls, (s.calls / s.wallSeconds).toFixed(0), s.cpuSeconds.toFixed(2), s.callsPerCpuSecond.toFixed(0), s.connectionsOpened, s.floorCpuSeconds === null ? '—' : ((s.floorCpuSeconds * 1e6) / s.calls).toFixed(1)].join(' | ')}\n`);
    }
  }
  const summary = summarize(slices);
  const total = (g: Slice['generator']): { calls: number; cpuSeconds: number; callsPerCpuSecond: number } => {
    const mine = slices.filter((s) => s.generator === g);
    const c = mine.reduce((a, s) => a + s.calls, 0);
    const cpu = mine.reduce((a, s) => a + s.cpuSeconds, 0);
    return { calls: c, cpuSeconds: cpu, callsPerCpuSecond: c / cpu };
  };
  const load = total('ddp-guard load');
  const bench = total('bench generator');
  Object.assign(result, { slices, ddpGuardLoad: load, benchGenerator: bench, ...summary });
  // The bench generator keeps its connections open; each iteration of the transcript opens a
  // fresh one (HTTP upgrade, DDP connect, closing handshake), which is counted in its CPU time.
  print(`summed: ddp-guard load ${load.calls} calls / ${load.cpuSeconds.toFixed(2)} CPU-s = ${load.callsPerCpuSecond.toFixed(0)}; bench generator ${bench.calls} / ${bench.cpuSeconds.toFixed(2)} = ${bench.callsPerCpuSecond.toFixed(0)}\n`);
  print(`ratio ddp-guard load / bench generator, calls per CPU-second: ${summary.ratio.toFixed(3)} (target ≥ 1.00: ${summary.met ? 'yes' : 'NO'}); pairs: median ${summary.median.toFixed(3)}, ${summary.min.toFixed(3)}–${summary.max.toFixed(3)} (${summary.pairRatios.map((r) => r.toFixed(2)).join(' ')})\n`);

  if (VUS > 0) {
    const hold = path.join(dir, 'hold.ddp');
    writeFileSync(hold, '> {"msg":"connect","version":"1","support":["1"]}\n< {"msg":"connected"}\n> {"msg":"method","method":"echo","params":[1],"id":"1"}\n< {"msg":"result","id":"1"}\nsleep 600000\n');
    const rampS = Math.max(5, Math.ceil(VUS / 1000));
    const held = await runLoad(floor.url, hold, path.join(dir, 'b.json'), ['--vus', String(VUS), '--ramp', `${rampS}s`, '--duration', `${rampS + 20}s`, '--timeout', '30000']);
    const figures = held.figures as { name: string; count: number; errors: number; p99: number }[];
    const timeline = held.timeline as { vus: number }[];
    const connect = figures.find((f) => f.name === 'connect');
    const hold10k = { vus: VUS, connected: connect?.count ?? 0, connectErrors: connect?.errors ?? 0, connectP99Ms: connect?.p99 ?? null, peakVusBusy: Math.max(...timeline.map((p) => p.vus)), errors: (held.totals as { errors: number }).errors, cpuSeconds: (held.loadGenerator as { cpuMs: number }).cpuMs / 1000 };
    result.held = hold10k;
    print(`${VUS} VUs from one process: ${hold10k.connected} connected (${hold10k.connectErrors} errors, p99 ${connect?.p99.toFixed(1)} ms), peak VUs busy ${hold10k.peakVusBusy}, errors ${hold10k.errors}, load generator ${hold10k.cpuSeconds.toFixed(1)} CPU-s\n`);
  }
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  floor.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
