/**
 * `npm run bench:load`: is `ddp-guard load` ever the bottleneck? Two measurements, run once,
 * against the floor server (bench/servers/floor.ts: a minimal DDP server, so the server is not
 * what limits), with the floor on core 0 and each load generator pinned to core 1 where
 * `taskset` exists:
 *
 * 1. calls per load-generator CPU-second, in one run: `ddp-guard load` with a transcript of
 *    1000 calls per session (each session on a fresh connection), then the bench's own generator
 *    (bench/load.ts, raw `ws`, one call in flight per connection, connections kept open), both
 *    with the same number of connections, after a 2-s `ddp-guard load` that warms the floor up;
 *    each one's CPU time from before its first connection to after its last close;
 * 2. 10 000 virtual users held from one `ddp-guard load` process (each connects, calls once,
 *    then sleeps), counted by their `connected` answers and the VUs busy at the peak.
 *
 * Options: `--seconds <n>` per throughput run (default 10), `--vus <n>` for the second part
 * (default 10000), `--connections <n>` (default 50).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LoadConnection } from './load.js';
import { hasTaskset, readyPort } from './proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'cli', 'main.js');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 10);
const VUS = arg('vus', 10_000);
const CONNECTIONS = arg('connections', 50);

const TASKSET = hasTaskset();
const pinned = (core: number, argv: string[]): [string, string[]] => (TASKSET ? ['taskset', ['-c', String(core), ...argv]] : [argv[0]!, argv.slice(1)]);

async function startFloor(): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, argv] = pinned(0, [process.execPath, path.join(here, 'servers', 'floor.js'), '--heartbeat-ms', '60000']);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await readyPort(child, 'floor');
  return { child, url: `ws://127.0.0.1:${port}/websocket` };
}

/**
 * The bench's own generator, in this process (pinned to core 1) for `seconds`: calls per
 * CPU-second. Its CPU time is measured as `ddp-guard load` measures its own: from before the
 * first connection opens to after the last one is closed, connecting included in the seconds.
 */
async function benchGenerator(url: string, seconds: number): Promise<{ calls: number; cpuSec: number; perCpuSec: number; perSec: number }> {
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => LoadConnection.open(url, 'ddp')));
  const counts = await Promise.all(conns.map((c) => c.run({ method: 'echo', payloadJson: '"hi"' }, 1, t0, until, latencies)));
  for (const c of conns) c.close();
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const calls = counts.reduce((a, b) => a + b, 0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return { calls, cpuSec, perCpuSec: calls / cpuSec, perSec: calls / wall };
}

/** `ddp-guard load` in a child pinned to core 1; its JSON report. */
function runLoad(url: string, transcript: string, json: string, args: string[]): Promise<Record<string, unknown>> {
  const [cmd, argv] = pinned(1, [process.execPath, CLI, 'load', url, '--script', transcript, '--json', json, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`ddp-guard load exited ${code}: ${err}`));
      else resolve(JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>);
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-bench-load-'));
const floor = await startFloor();
if (TASKSET) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
try {
  process.stderr.write(`bench:load — floor server on core 0, load generators on core 1 (taskset ${TASKSET ? 'on' : 'not available'}); ${SECONDS} s per run, ${CONNECTIONS} connections\n`);
  const calls = ['> {"msg":"connect","version":"1","support":["1"]}', '< {"msg":"connected"}'];
  for (let i = 1; i <= 1000; i++) calls.push(`> {"msg":"method","method":"echo","params":["hi"],"id":"${i}"}`, `< {"msg":"result","id":"${i}"}`);
  const many = path.join(dir, 'calls.ddp');
  writeFileSync(many, `${calls.join('\n')}\n`);
  // The floor server's code is compiled and optimised before either generator is measured (the
  // one measured first would otherwise meet a slower server and handle fewer answers per
  // wake-up), by a 2-s `ddp-guard load` in a process of its own: the generators' own code stays
  // cold in both, so each one's CPU time includes its own warm-up.
  await runLoad(floor.url, many, path.join(dir, 'warm-up.json'), ['--vus', String(CONNECTIONS), '--duration', '2s']);
  const load = await runLoad(floor.url, many, path.join(dir, 'a.json'), ['--vus', String(CONNECTIONS), '--duration', `${SECONDS}s`]);
  const gen = load.loadGenerator as { cpuMs: number; callsPerCpuSecond: number };
  const totals = load.totals as { calls: number; callsPerSecond: number };
  const opened = (load.figures as { name: string; count: number }[]).find((f) => f.name === 'connect')?.count ?? 0;
  const bench = await benchGenerator(floor.url, SECONDS);
  const rows = [
    ['bench/load.ts (raw ws)', bench.calls, bench.perSec.toFixed(0), bench.cpuSec.toFixed(2), bench.perCpuSec.toFixed(0), CONNECTIONS],
    ['ddp-guard load (transcript)', totals.calls, totals.callsPerSecond.toFixed(0), (gen.cpuMs / 1000).toFixed(2), gen.callsPerCpuSecond.toFixed(0), opened],
  ];
  // The bench generator keeps its connections open; each iteration of the transcript opens a
  // fresh one (HTTP upgrade, DDP connect, closing handshake), which is counted in its CPU time.
  process.stdout.write(`generator | calls | calls/s | CPU-s | calls per CPU-s | connections opened\n${rows.map((r) => r.join(' | ')).join('\n')}\n`);
  process.stdout.write(`ratio ddp-guard load / bench generator, calls per CPU-second: ${(gen.callsPerCpuSecond / bench.perCpuSec).toFixed(2)}\n`);

  if (VUS > 0) {
    const hold = path.join(dir, 'hold.ddp');
    writeFileSync(hold, '> {"msg":"connect","version":"1","support":["1"]}\n< {"msg":"connected"}\n> {"msg":"method","method":"echo","params":[1],"id":"1"}\n< {"msg":"result","id":"1"}\nsleep 600000\n');
    const rampS = Math.max(5, Math.ceil(VUS / 1000));
    const held = await runLoad(floor.url, hold, path.join(dir, 'b.json'), ['--vus', String(VUS), '--ramp', `${rampS}s`, '--duration', `${rampS + 20}s`, '--timeout', '30000']);
    const figures = held.figures as { name: string; count: number; errors: number; p99: number }[];
    const timeline = held.timeline as { vus: number }[];
    const connect = figures.find((f) => f.name === 'connect');
    process.stdout.write(`${VUS} VUs from one process: ${connect?.count ?? 0} connected (${connect?.errors ?? 0} errors, p99 ${connect?.p99.toFixed(1)} ms), peak VUs busy ${Math.max(...timeline.map((p) => p.vus))}, errors ${(held.totals as { errors: number }).errors}, load generator ${((held.loadGenerator as { cpuMs: number }).cpuMs / 1000).toFixed(1)} CPU-s\n`);
  }
} finally {
  floor.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
