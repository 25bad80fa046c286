/**
 * `npm run bench`: ddp-guard against a raw `ws` JSON echo server measured in the same run, in
 * separate processes (server on core 0, this load generator on core 1 where `taskset` exists).
 * Prints each figure with its ratio to the baseline; `--json` prints machine-readable results.
 * `--help` lists the options (bench/options.ts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, hasTaskset, holdLowCpuLatency, readyPort, rssBytes } from './proc.js';
import { LoadConnection, latencySummary, login, trustSession, type Protocol } from './load.js';
import { LOGIN_RATE, PLAIN_RATE, loginsRows, loginsScenario } from './logins-scenario.js';
import { HELP, parseBenchArgs, type Scenario } from './options.js';
import { startShipped } from './shipped.js';
import { inTurns, roundRatios, type Contender, type TurnsFigures } from './turns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const parsed = parseBenchArgs(process.argv.slice(2));
if (parsed === 'help') {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if ('error' in parsed) {
  process.stderr.write(`bench: ${parsed.error}\n\n${HELP}\n`);
  process.exit(2);
}
/** This process's descriptor limit (Node raises the soft limit to the hard one at start). */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}
// The idle scenarios open every connection from this one process: past its descriptor limit
// they would die with EMFILE after minutes. Many connections are bench:fleet's job.
if (parsed.idle > openFileLimit() - 1000) {
  process.stderr.write(`bench: --idle ${parsed.idle} needs more descriptors than this process has (${openFileLimit()}); for that many connections run npm run bench:fleet -- --idle ${parsed.idle} (several server and load-generator processes)\n`);
  process.exit(2);
}
const DURATION_MS = parsed.durationMs;
const WARMUP_MS = 1000;
const IDLE = parsed.idle;
const JSON_OUT = parsed.json;
/** `--profile <dir>`: run the ddp-guard server with `--cpu-prof`, profiles written to `<dir>`. */
const PROFILE_DIR = parsed.profileDir;
const run = (name: Scenario): boolean => parsed.only.length === 0 || parsed.only.includes(name);

const TASKSET = hasTaskset();

const LOW_CPU_LATENCY = holdLowCpuLatency();
// -a: every thread of the load generator (V8's and libuv's too), not only the main one.
if (TASKSET) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });

function log(line: string): void {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
}

interface Server { child: ChildProcess; pid: number; url: string }

const NODE_FLAGS = (profile: boolean): string[] => ['--expose-gc', ...(profile && PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${PROFILE_DIR}`] : [])];

async function startServer(kind: 'baseline' | 'ddp' | 'floor', extra: string[] = []): Promise<Server> {
  const script = path.join(here, 'servers', `${kind}.js`);
  const nodeFlags = NODE_FLAGS(kind === 'ddp');
  const command = TASKSET ? 'taskset' : process.execPath;
  const argv = TASKSET ? ['-c', '0', process.execPath, ...nodeFlags, script, ...extra] : [...nodeFlags, script, ...extra];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await readyPort(child, kind);
  // taskset execs node in place, so the child's pid is the server's.
  const pid = child.pid!;
  return { child, pid, url: kind === 'baseline' ? `ws://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/websocket` };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  server.child.kill('SIGKILL');
}

interface Throughput { callsPerSec: number; callsPerCpuSec: number; p50: number; p90: number; p99: number; calls: number }

/** `n` connections to `server`, opened at once. */
function connect(server: Server, protocol: Protocol, n: number): Promise<LoadConnection[]> {
  return Promise.all(Array.from({ length: n }, () => LoadConnection.open(server.url, protocol)));
}

async function throughput(server: Server, protocol: Protocol, method: string, payloadJson: string, connections: number, inFlight: number, setup?: (c: LoadConnection) => Promise<void>): Promise<Throughput> {
  const conns = await connect(server, protocol, connections);
  if (setup) for (const c of conns) await setup(c);
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const until = measureFrom + DURATION_MS;
  let cpuStart = 0;
  const cpuTimer = setTimeout(() => {
    cpuStart = cpuSeconds(server.pid);
  }, WARMUP_MS);
  const counts = await Promise.all(conns.map((c) => c.run({ method, payloadJson }, inFlight, measureFrom, until, latencies)));
  clearTimeout(cpuTimer);
  const cpu = cpuSeconds(server.pid) - cpuStart;
  for (const c of conns) c.close();
  const calls = counts.reduce((a, b) => a + b, 0);
  return { calls, callsPerSec: calls / (DURATION_MS / 1000), callsPerCpuSec: calls / Math.max(cpu, 0.01), ...latencySummary(latencies) };
}

/** Plain calls on one connection, open loop at `rate` calls/s. */
async function paced(server: Server, rate: number): Promise<{ p50: number; p90: number; p99: number; calls: number }> {
  const conn = await LoadConnection.open(server.url, 'ddp');
  const latencies: number[] = [];
  const measureFrom = performance.now() + WARMUP_MS;
  const calls = await conn.runPaced({ method: 'echo', payloadJson: SMALL }, 1000 / rate, measureFrom, measureFrom + DURATION_MS, latencies);
  conn.close();
  return { calls, ...latencySummary(latencies) };
}

async function gcAndRss(server: Server): Promise<number> {
  server.child.send('gc');
  await new Promise((r) => setTimeout(r, 300));
  return rssBytes(server.pid);
}

async function openIdle(server: Server, protocol: Protocol, n: number): Promise<LoadConnection[]> {
  const conns: LoadConnection[] = [];
  for (let i = 0; i < n; i += 200) {
    conns.push(...(await connect(server, protocol, Math.min(200, n - i))));
  }
  return conns;
}

/**
 * RSS growth per idle connection after the handshake: `n` connections opened in two halves,
 * RSS read after a full GC at 0, n/2 and n connections. The figure is the growth from n/2 to n
 * over n/2 connections: the first half absorbs what grows once per process, not per
 * connection (V8 grows its young generation by several MB on the first burst of handshakes).
 * The connections are then held `holdMs` while heartbeats run, and RSS is read again: that
 * growth is reported too, though it is mostly the allocator keeping pages from the churn of
 * pings and pongs (the baseline exchanges no heartbeats).
 */
async function idleMemory(server: Server, protocol: Protocol, n: number, holdMs: number): Promise<{ afterHandshake: number; afterHandshakeAll: number; afterHeartbeats: number; held: number }> {
  const half = Math.floor(n / 2);
  const start = await gcAndRss(server);
  const first = await openIdle(server, protocol, half);
  const middle = await gcAndRss(server);
  const second = await openIdle(server, protocol, n - half);
  const end = await gcAndRss(server);
  await new Promise((r) => setTimeout(r, holdMs));
  const held = await gcAndRss(server);
  const conns = [...first, ...second];
  const open = conns.filter((c) => c.isOpen).length;
  for (const c of conns) c.close();
  return { afterHandshake: (end - middle) / (n - half), afterHandshakeAll: (end - start) / n, afterHeartbeats: (held - start) / n, held: open };
}

interface Row { scenario: string; metric: string; baseline: number | null; ddp: number; ratio: number | null; target: string; ok: boolean | null }
const rows: Row[] = [];
function row(scenario: string, metric: string, baseline: number | null, ddp: number, target: string, pass: ((ratio: number) => boolean) | null): void {
  const ratio = baseline === null ? null : ddp / baseline;
  rows.push({ scenario, metric, baseline, ddp, ratio, target, ok: pass && ratio !== null ? pass(ratio) : null });
}

const SMALL = '"hello"';
const KB = JSON.stringify({ text: 'x'.repeat(1000) });
const HEARTBEAT_MS = 2000;

async function main(): Promise<void> {
  log(`ddp-guard bench: ${DURATION_MS / 1000} s per scenario after ${WARMUP_MS / 1000} s warm-up; taskset ${TASKSET ? 'on (server core 0, load core 1)' : 'not available'}; deep CPU idle states ${LOW_CPU_LATENCY ? 'off (cpu_dma_latency 0)' : 'as the OS sets them (cpu_dma_latency not writable)'}`);
  const baseline = await startServer('baseline');
  const ddp = await startServer('ddp', ['--heartbeat-ms', String(HEARTBEAT_MS)]);
  try {
    for (const [name, payload] of [['small', SMALL], ['1kb', KB]] as const) {
      if (!run(name)) continue;
      log(`scenario ${name}: C=50 × 4 in flight…`);
      const b = await throughput(baseline, 'baseline', 'echo', payload, 50, 4);
      const d = await throughput(ddp, 'ddp', 'echo', payload, 50, 4);
      row(name, 'calls/s', b.callsPerSec, d.callsPerSec, 'info', null);
      row(name, 'calls per server CPU-s', b.callsPerCpuSec, d.callsPerCpuSec, '≥ 0.90', (r) => r >= 0.9);
      row(name, 'p50 ms', b.p50, d.p50, 'info', null);
      row(name, 'p99 ms', b.p99, d.p99, 'info', null);
      if (name === 'small' && run('guarded')) {
        log('scenario guarded: trusted sessions, C=50 × 4…');
        const g = await throughput(ddp, 'ddp', 'echo.guarded', payload, 50, 4, async (c) => {
          await login(c);
          await trustSession(c);
        });
        row('guarded', 'calls per server CPU-s', b.callsPerCpuSec, g.callsPerCpuSec, '≥ 0.85', (r) => r >= 0.85);
        row('guarded', 'p50 ms', b.p50, g.p50, 'info', null);
      }
    }
    if (run('latency')) {
      log('scenario latency: C=1 × 1…');
      const b = await throughput(baseline, 'baseline', 'echo', SMALL, 1, 1);
      const d = await throughput(ddp, 'ddp', 'echo', SMALL, 1, 1);
      row('latency', 'p50 ms', b.p50, d.p50, '≤ 1.10', (r) => r <= 1.1);
      row('latency', 'p99 ms', b.p99, d.p99, 'info', null);
      row('latency', 'server CPU µs per call', 1e6 / b.callsPerCpuSec, 1e6 / d.callsPerCpuSec, 'info', null);
    }
    if (run('logins')) {
      log(`scenario logins: pool capacity, then plain calls at ${PLAIN_RATE}/s without and with ${LOGIN_RATE} logins/s offered (bcrypt cost 10, admission control)…`);
      const l = await loginsScenario({
        taskset: TASKSET, warmupMs: WARMUP_MS, durationMs: DURATION_MS, log,
        startServer: (extra) => startServer('ddp', extra),
        stopServer: (s) => stopServer(s as Server),
        paced: (s, rate) => paced(s as Server, rate),
      });
      loginsRows(l, (metric, base, value, target, pass) => row('logins', metric, base, value, target, pass));
    }
    if (run('idle')) {
      log(`scenario idle: ${IDLE} idle connections each, held ${(HEARTBEAT_MS * 3) / 1000} s (ddp-guard heartbeat every ${HEARTBEAT_MS / 1000} s)…`);
      const b = await idleMemory(baseline, 'baseline', IDLE, HEARTBEAT_MS * 3);
      const d = await idleMemory(ddp, 'ddp', IDLE, HEARTBEAT_MS * 3);
      // The same for the least any DDP server on ws holds (bench/servers/floor.ts), for reference.
      const floor = await startServer('floor', ['--heartbeat-ms', String(HEARTBEAT_MS)]);
      const f = await idleMemory(floor, 'ddp', IDLE, HEARTBEAT_MS * 3).finally(() => stopServer(floor));
      row('idle', 'RSS bytes per connection after the handshake', b.afterHandshake, d.afterHandshake, '≤ 1.2', (r) => b.afterHandshake > 0 && r <= 1.2);
      row('idle', '… counting the first half too', b.afterHandshakeAll, d.afterHandshakeAll, 'info', null);
      row('idle', '… after heartbeats', b.afterHeartbeats, d.afterHeartbeats, 'info', null);
      row('idle', 'DDP floor (minimal DDP on ws): RSS bytes per connection after the handshake', b.afterHandshake, f.afterHandshake, 'info', null);
      row('idle', 'DDP floor: … after heartbeats', b.afterHeartbeats, f.afterHeartbeats, 'info', null);
      row('idle', `connections still open after heartbeats (of ${IDLE})`, b.held, d.held, '= 1.00', (r) => r === 1);
    }
    if (run('shipped')) {
      const rounds = Math.max(4, Math.round((2 * DURATION_MS) / 1000));
      log(`scenario shipped: ddp-guard serve through its CLI entry with its defaults (info logs, metrics, account page, SQLite file), C=50 × 4, in turns with the baseline and the engine: ${rounds} rounds of 1-s slices after one not counted…`);
      // A baseline process of its own, measured in turns with the others (bench/turns.ts): on a
      // shared machine the load of other processes drifts, and only figures taken in the same
      // seconds are "the same run". The idle figures compare two processes that served the same load.
      const shipped = await startShipped(TASKSET, NODE_FLAGS(true));
      const base = await startServer('baseline');
      try {
        const logBefore = shipped.logBytes();
        const trusted = await connect(shipped, 'ddp', 50);
        for (const c of trusted) {
          await login(c);
          await trustSession(c);
        }
        const call = { method: 'echo', payloadJson: SMALL };
        const contenders: Contender[] = [
          { name: 'baseline', pid: base.pid, connections: await connect(base, 'baseline', 50), call },
          // The engine as the other rows run it (silent logger, in-memory SQLite), for the shipped/engine ratio.
          { name: 'engine', pid: ddp.pid, connections: await connect(ddp, 'ddp', 50), call },
          { name: 'plain', pid: shipped.pid, connections: await connect(shipped, 'ddp', 50), call },
          { name: 'guarded', pid: shipped.pid, connections: trusted, call: { method: 'echo.guarded', payloadJson: SMALL } },
        ];
        const figures = await inTurns(contenders, { rounds, sliceMs: 1000, inFlight: 4, warmupRounds: 1 });
        const logged = shipped.logBytes() - logBefore;
        for (const c of contenders) for (const conn of c.connections) conn.close();
        const [b, engine, plain, guarded] = contenders.map((c) => figures.get(c.name)!) as [TurnsFigures, TurnsFigures, TurnsFigures, TurnsFigures];
        row('shipped', `plain calls per server CPU-s (${rounds} rounds summed)`, b.callsPerCpuSec, plain.callsPerCpuSec, '≥ 1.00', (r) => r >= 1);
        row('shipped', 'guarded calls, trusted session, per server CPU-s (same rounds)', b.callsPerCpuSec, guarded.callsPerCpuSec, '≥ 1.00', (r) => r >= 1);
        for (const [name, of] of [['plain', plain], ['guarded', guarded]] as const) {
          const r = roundRatios(of, b);
          row('shipped', `${name}: ratio per round, median (lowest ${r.min.toFixed(2)}, highest ${r.max.toFixed(2)})`, 1, r.median, 'info', null);
        }
        row('shipped', 'plain p50 ms', b.p50, plain.p50, 'info', null);
        row('shipped', 'plain calls per server CPU-s vs the engine (bench/servers/ddp.ts), same rounds', engine.callsPerCpuSec, plain.callsPerCpuSec, 'info', null);
        row('shipped', `log bytes written during ${plain.calls + guarded.calls} counted calls, the warm-up round's and 50 logins`, null, logged, 'info', null);
        log('  idle connections…');
        const idleBase = await idleMemory(base, 'baseline', IDLE, 0);
        const idle = await idleMemory(shipped, 'ddp', IDLE, 0);
        row('shipped', 'idle RSS bytes per connection after the handshake', idleBase.afterHandshake, idle.afterHandshake, '≤ 1.20', (r) => idleBase.afterHandshake > 0 && r <= 1.2);
      } finally {
        await stopServer(base);
        await stopServer(shipped);
        shipped.cleanUp();
      }
    }
  } finally {
    await stopServer(baseline);
    await stopServer(ddp);
  }
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ durationMs: DURATION_MS, taskset: TASKSET, lowCpuLatency: LOW_CPU_LATENCY, rows }, null, 2)}\n`);
    return;
  }
  const fmt = (v: number | null): string => (v === null ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
  const header = ['scenario', 'metric', 'baseline', 'ddp-guard', 'ratio', 'target', 'ok'];
  const table = rows.map((r) => [r.scenario, r.metric, fmt(r.baseline), fmt(r.ddp), r.ratio === null ? '—' : r.ratio.toFixed(2), r.target, r.ok === null ? '' : r.ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${table.map(line).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
