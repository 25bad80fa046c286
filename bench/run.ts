/**
 * `npm run bench`: ddp-guard against a raw `ws` JSON echo server measured in the same run, in
 * separate processes (server on core 0, this load generator on core 1 where `taskset` exists).
 * Prints each figure with its ratio to the baseline; `--json` prints machine-readable results.
 *
 * Options: `--duration <s>` (measure window per scenario, default 4), `--idle <n>` (idle
 * connections, default 2000), `--json`, `--only <scenario,...>`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, rssBytes } from './proc.js';
import { LoadConnection, login, percentile, trustSession, type Protocol } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const DURATION_MS = Number(flag('duration', '4')) * 1000;
const WARMUP_MS = 1000;
const IDLE = Number(flag('idle', '2000'));
const JSON_OUT = args.includes('--json');
const ONLY = flag('only', '').split(',').filter(Boolean);
/** `--profile <dir>`: run the ddp-guard server with `--cpu-prof`, profiles written to `<dir>`. */
const PROFILE_DIR = flag('profile', '');
const run = (name: string): boolean => ONLY.length === 0 || ONLY.includes(name);

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = hasTaskset();
if (TASKSET) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

function log(line: string): void {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
}

interface Server { child: ChildProcess; pid: number; url: string }

async function startServer(kind: 'baseline' | 'ddp', extra: string[] = []): Promise<Server> {
  const script = path.join(here, 'servers', `${kind}.js`);
  const nodeFlags = ['--expose-gc', ...(kind === 'ddp' && PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${PROFILE_DIR}`] : [])];
  const command = TASKSET ? 'taskset' : process.execPath;
  const argv = TASKSET ? ['-c', '0', process.execPath, ...nodeFlags, script, ...extra] : [...nodeFlags, script, ...extra];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited early (${code})`)));
  });
  // taskset execs node in place, so the child's pid is the server's.
  const pid = child.pid!;
  return { child, pid, url: kind === 'ddp' ? `ws://127.0.0.1:${port}/websocket` : `ws://127.0.0.1:${port}` };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  server.child.kill('SIGKILL');
}

interface Throughput { callsPerSec: number; callsPerCpuSec: number; p50: number; p90: number; p99: number; calls: number }

async function throughput(server: Server, protocol: Protocol, method: string, payloadJson: string, connections: number, inFlight: number, setup?: (c: LoadConnection) => Promise<void>): Promise<Throughput> {
  const conns = await Promise.all(Array.from({ length: connections }, () => LoadConnection.open(server.url, protocol)));
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
  const sorted = Float64Array.from(latencies).sort();
  return { calls, callsPerSec: calls / (DURATION_MS / 1000), callsPerCpuSec: calls / Math.max(cpu, 0.01), p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

async function gcAndRss(server: Server): Promise<number> {
  server.child.send('gc');
  await new Promise((r) => setTimeout(r, 300));
  return rssBytes(server.pid);
}

async function idleMemory(server: Server, protocol: Protocol, n: number, holdMs: number): Promise<{ bytesPerConnection: number; held: number }> {
  const before = await gcAndRss(server);
  const conns: LoadConnection[] = [];
  for (let i = 0; i < n; i += 200) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => LoadConnection.open(server.url, protocol)))));
  }
  await new Promise((r) => setTimeout(r, holdMs));
  const after = await gcAndRss(server);
  const open = conns.filter((c) => c.isOpen).length;
  for (const c of conns) c.close();
  return { bytesPerConnection: (after - before) / n, held: open };
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
  log(`ddp-guard bench: ${DURATION_MS / 1000} s per scenario after ${WARMUP_MS / 1000} s warm-up; taskset ${TASKSET ? 'on (server core 0, load core 1)' : 'not available'}`);
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
      log('scenario logins: C=1 × 1 plain calls, without and with 20 logins/s…');
      const quiet = await throughput(ddp, 'ddp', 'echo', SMALL, 1, 1);
      // A fixed rate of 20 logins/s, each on the next of a pool of connections (a connection
      // runs its methods one at a time, so a pool lets slow logins overlap).
      const loginConns = await Promise.all(Array.from({ length: 40 }, () => LoadConnection.open(ddp.url, 'ddp')));
      let logins = 0;
      let next = 0;
      const inFlight = new Set<Promise<void>>();
      const ticker = setInterval(() => {
        const p = login(loginConns[next++ % loginConns.length]!).then(() => {
          logins++;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }, 50);
      const t0 = performance.now();
      const busy = await throughput(ddp, 'ddp', 'echo', SMALL, 1, 1);
      const rate = logins / ((performance.now() - t0) / 1000);
      clearInterval(ticker);
      await Promise.all(inFlight);
      for (const c of loginConns) c.close();
      row('logins', `p99 ms while ${rate.toFixed(1)} logins/s (vs none)`, quiet.p99, busy.p99, '≤ 2.0', (r) => r <= 2);
      row('logins', 'p50 ms (vs none)', quiet.p50, busy.p50, 'info', null);
    }
    if (run('idle')) {
      log(`scenario idle: ${IDLE} idle connections each, held ${(HEARTBEAT_MS * 3) / 1000} s (ddp-guard heartbeat every ${HEARTBEAT_MS / 1000} s)…`);
      const b = await idleMemory(baseline, 'baseline', IDLE, HEARTBEAT_MS * 3);
      const d = await idleMemory(ddp, 'ddp', IDLE, HEARTBEAT_MS * 3);
      row('idle', 'bytes of RSS per connection', b.bytesPerConnection, d.bytesPerConnection, '≤ 1.2', (r) => r <= 1.2);
      row('idle', `connections still open after heartbeats (of ${IDLE})`, b.held, d.held, '= 1.00', (r) => r === 1);
    }
  } finally {
    await stopServer(baseline);
    await stopServer(ddp);
  }
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ durationMs: DURATION_MS, taskset: TASKSET, rows }, null, 2)}\n`);
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
