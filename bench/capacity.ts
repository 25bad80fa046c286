/**
 * `npm run bench:capacity`: what one process and two processes of `ddp-guard serve` carry, for
 * sizing (docs/scaling.md). Shipped configuration (serve's defaults, SQLite file): logged-in
 * guarded calls per server CPU-second (= per core) against a raw `ws` echo server measured in
 * the same run, and logins per CPU-second. On a shared PostgreSQL schema and Redis: guarded
 * calls/s of two processes against one, what PostgreSQL (the backends of the servers' pools)
 * and Redis spend per call, and a stream event's fan-out latency to subscribers on another
 * process against subscribers on the emitting process. `--help` lists the options.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { LoadConnection, latencySummary, login, trustSession, type Protocol } from './load.js';
import { REDIS_URL, SharedStore, startBaselines, startServes, type FleetServer } from './fleet-procs.js';
import { startShipped } from './shipped.js';
import { cpuSeconds } from './proc.js';
import { cpuEach, cpuOf, cpuSince, pgBackends, redisPid } from './backends.js';
import { Rows } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const APP = path.join(here, 'servers', 'fleet-app.js');

const HELP = `Usage: node dist/bench/capacity.js [options]   (npm run bench:capacity -- [options])

  --duration <s>      measure window per figure after 1 s of warm-up (default 8)
  --subscribers <n>   stream subscribers on each process for the fan-out figure (default 200)
  --json              print every figure as JSON on stdout
  -h, --help          this text`;

const opt = { durationMs: 8000, subscribers: 200, json: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '-h' || a === '--help') {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  } else if (a === '--json') opt.json = true;
  else if (a === '--duration' && Number(process.argv[i + 1]) > 0) opt.durationMs = Number(process.argv[++i]) * 1000;
  else if (a === '--subscribers' && Number.isInteger(Number(process.argv[i + 1]))) opt.subscribers = Number(process.argv[++i]);
  else {
    process.stderr.write(`bench:capacity: bad option '${a}'\n\n${HELP}\n`);
    process.exit(2);
  }
}
const WARMUP_MS = 1000;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface Target { url: string; pid: number }
interface Load { calls: number; callsPerSec: number; callsPerCpuSec: number; p50: number; p99: number; pgCpu: number; redisCpu: number; redisCommands: number }

async function redisCommands(redis: Redis): Promise<number> {
  const m = /total_commands_processed:(\d+)/.exec(await redis.info('stats'));
  return m ? Number(m[1]) : 0;
}

/** Closed loop: `perTarget` connections to each target × `inFlight` calls; CPU of servers, their PostgreSQL backends and Redis over the window. */
async function throughput(targets: readonly Target[], protocol: Protocol, method: string, perTarget: number, inFlight: number, setup?: (c: LoadConnection) => Promise<void>, redis?: Redis): Promise<Load> {
  const conns = (await Promise.all(targets.map((t) => Promise.all(Array.from({ length: perTarget }, () => LoadConnection.open(t.url, protocol)))))).flat();
  if (setup) for (const c of conns) await setup(c);
  const latencies: number[] = [];
  const measureFrom = performance.now() + WARMUP_MS;
  const until = measureFrom + opt.durationMs;
  const pids = targets.map((t) => t.pid);
  let start = { server: 0, pg: new Map<number, number>(), redis: 0, commands: 0 };
  const redisProcess = redisPid();
  const timer = setTimeout(() => {
    void (async () => {
      start = { server: cpuOf(pids), pg: cpuEach(pgBackends(pids)), redis: redisProcess && redis ? cpuSeconds(redisProcess) : 0, commands: redis ? await redisCommands(redis) : 0 };
    })();
  }, WARMUP_MS);
  const counts = await Promise.all(conns.map((c) => c.run({ method, payloadJson: '"hello"' }, inFlight, measureFrom, until, latencies)));
  clearTimeout(timer);
  const server = cpuOf(pids) - start.server;
  const pg = cpuSince(start.pg, pgBackends(pids));
  const redisCpu = redisProcess && redis ? cpuSeconds(redisProcess) - start.redis : 0;
  const commands = redis ? (await redisCommands(redis)) - start.commands : 0;
  for (const c of conns) c.close();
  const calls = counts.reduce((a, b) => a + b, 0);
  const s = latencySummary(latencies);
  return { calls, callsPerSec: calls / (opt.durationMs / 1000), callsPerCpuSec: calls / Math.max(server, 0.01), p50: s.p50, p99: s.p99, pgCpu: pg, redisCpu, redisCommands: commands };
}

/** Logins as fast as the server takes them: `parallel` at a time, each on a connection of its own (the accounts rule allows 5 per connection per 10 s). */
async function logins(target: Target, parallel: number): Promise<{ perSec: number; perCpuSec: number; p50: number; p99: number; pgCpuPerLogin: number }> {
  const pool = await Promise.all(Array.from({ length: 300 }, () => LoadConnection.open(target.url, 'ddp')));
  let next = 0;
  const times: number[] = [];
  const cpu0 = cpuSeconds(target.pid);
  const pg0 = cpuEach(pgBackends([target.pid]));
  const t0 = performance.now();
  const until = t0 + opt.durationMs;
  let done = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (performance.now() < until) {
      const c = pool[next++ % pool.length]!;
      const s = performance.now();
      await login(c);
      times.push(performance.now() - s);
      done++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(target.pid) - cpu0;
  const pg = cpuSince(pg0, pgBackends([target.pid]));
  for (const c of pool) c.close();
  const s = latencySummary(times);
  return { perSec: done / seconds, perCpuSec: done / Math.max(cpu, 0.01), p50: s.p50, p99: s.p99, pgCpuPerLogin: done > 0 ? pg / done : 0 };
}

/** A raw subscriber of `stream-bench-fanout` (event `room`) that records when each event arrived. */
async function subscriber(url: string, arrived: (seq: number, at: number) => void): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const ready = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { msg: string; fields?: { args?: unknown[] } };
      if (msg.msg === 'ping') ws.send('{"msg":"pong"}');
      else if (msg.msg === 'connected') ws.send('{"msg":"sub","id":"s1","name":"stream-bench-fanout","params":["room",{"useCollection":false,"args":[]}]}');
      else if (msg.msg === 'ready') resolve();
      else if (msg.msg === 'changed') arrived(Number(msg.fields?.args?.[0]), performance.now());
    });
  });
  ws.send('{"msg":"connect","version":"1","support":["1"]}');
  await ready;
  return ws;
}

/** Events emitted on `emitter` at 20/s; latency from the call's send to each subscriber's receipt, for subscribers on `near` and on `far`. */
async function fanout(emitter: FleetServer, far: FleetServer): Promise<{ near: ReturnType<typeof latencySummary>; far: ReturnType<typeof latencySummary>; delivered: number; expected: number }> {
  const sentAt = new Map<number, number>();
  const nearMs: number[] = [];
  const farMs: number[] = [];
  const record = (into: number[]) => (seq: number, at: number): void => {
    const t = sentAt.get(seq);
    if (t !== undefined) into.push(at - t);
  };
  const subs = [
    ...(await Promise.all(Array.from({ length: opt.subscribers }, () => subscriber(emitter.url, record(nearMs))))),
    ...(await Promise.all(Array.from({ length: opt.subscribers }, () => subscriber(far.url, record(farMs))))),
  ];
  const conn = await LoadConnection.open(emitter.url, 'ddp');
  const events = Math.round((opt.durationMs / 1000) * 20);
  for (let seq = 1; seq <= events; seq++) {
    sentAt.set(seq, performance.now());
    void conn.request('fanout.say', [seq]);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 2000));
  conn.close();
  for (const s of subs) s.terminate();
  return { near: latencySummary(nearMs), far: latencySummary(farMs), delivered: nearMs.length + farMs.length, expected: events * subs.length };
}

async function main(): Promise<void> {
  const rows = new Rows();
  const sec = opt.durationMs / 1000;
  log(`capacity: ${sec} s per figure after 1 s warm-up; ${opt.subscribers} stream subscribers per process`);
  const [baseline] = await startBaselines(1);
  const shipped = await startShipped(false, ['--expose-gc']);
  try {
    log('shipped configuration (serve defaults, SQLite file): raw ws echo, then guarded calls C=50 × 4…');
    const b = await throughput([baseline!], 'baseline', 'echo', 50, 4);
    const g = await throughput([shipped], 'ddp', 'echo.guarded', 50, 4, async (c) => {
      await login(c);
      await trustSession(c);
    });
    rows.add('capacity shipped', 'logged-in guarded calls per server CPU-s (= per core; baseline: raw ws echo)', b.callsPerCpuSec, g.callsPerCpuSec, 'info', null);
    rows.add('capacity shipped', 'logged-in guarded calls/s on this loaded 2-core machine', b.callsPerSec, g.callsPerSec, 'info', null);
    log('logins (bcrypt cost 10, password workers: serve default), 4 at a time…');
    const l = await logins(shipped, 4);
    rows.add('capacity shipped', 'logins per server CPU-s (event loop + bcrypt threads)', null, l.perCpuSec, 'info', null);
    rows.add('capacity shipped', 'logins/s on this machine', null, l.perSec, 'info', null);
    rows.add('capacity shipped', 'login p50 ms', null, l.p50, 'info', null);
  } finally {
    await baseline!.stop();
    shipped.child.kill('SIGTERM');
    shipped.cleanUp();
  }

  const store = new SharedStore();
  const redis = new Redis(REDIS_URL, { lazyConnect: false });
  try {
    log('PostgreSQL + Redis: one serve process, guarded calls C=50 × 4…');
    const [only] = await startServes(1, store, ['--expose-gc'], [], APP);
    const one = await throughput([only!], 'ddp', 'echo.guarded', 50, 4, async (c) => {
      await login(c);
      await trustSession(c);
    }, redis);
    log('PostgreSQL + Redis: logins on that process, 4 at a time…');
    const pgLogins = await logins(only!, 4).finally(() => only!.stop());
    log('PostgreSQL + Redis: two serve processes, guarded calls C=25 × 4 on each…');
    const pair = await startServes(2, store, ['--expose-gc'], [], APP);
    try {
      const two = await throughput(pair, 'ddp', 'echo.guarded', 25, 4, async (c) => {
        await login(c);
        await trustSession(c);
      }, redis);
      rows.add('capacity pg+redis', 'guarded calls/s: 2 processes (baseline: 1 process)', one.callsPerSec, two.callsPerSec, 'info', null);
      rows.add('capacity pg+redis', 'guarded calls per server CPU-s: 2 processes (baseline: 1)', one.callsPerCpuSec, two.callsPerCpuSec, 'info', null);
      rows.add('capacity pg+redis', 'guarded call p99 ms: 2 processes (baseline: 1)', one.p99, two.p99, 'info', null);
      rows.add('capacity pg+redis', 'PostgreSQL CPU µs per guarded call (the servers\' backends): 2 processes (baseline: 1)', (one.pgCpu * 1e6) / one.calls, (two.pgCpu * 1e6) / two.calls, 'info', null);
      rows.add('capacity pg+redis', 'Redis CPU µs per guarded call (whole redis-server: upper bound): 2 processes (baseline: 1)', (one.redisCpu * 1e6) / one.calls, (two.redisCpu * 1e6) / two.calls, 'info', null);
      rows.add('capacity pg+redis', 'Redis commands per guarded call (whole redis-server: upper bound): 2 processes (baseline: 1)', one.redisCommands / one.calls, two.redisCommands / two.calls, 'info', null);
      rows.add('capacity pg+redis', 'PostgreSQL CPU µs per password login (the server\'s backends; one process)', null, pgLogins.pgCpuPerLogin * 1e6, 'info', null);
      rows.add('capacity pg+redis', 'logins per server CPU-s on PostgreSQL (one process)', null, pgLogins.perCpuSec, 'info', null);
      log(`stream fan-out: ${opt.subscribers} subscribers on each process, 20 events/s emitted on the first…`);
      const f = await fanout(pair[0]!, pair[1]!);
      rows.add('capacity pg+redis', `stream fan-out p50 ms to ${opt.subscribers} subscribers on the other process (baseline: on the emitting one)`, f.near.p50, f.far.p50, 'info', null);
      rows.add('capacity pg+redis', 'stream fan-out p99 ms, other process (baseline: emitting one)', f.near.p99, f.far.p99, 'info', null);
      rows.check('capacity pg+redis', `stream events delivered (of ${f.expected})`, f.delivered, `= ${f.expected}`, f.delivered === f.expected);
    } finally {
      await Promise.all(pair.map((s) => s.stop()));
    }
  } finally {
    redis.disconnect();
    await store.drop().catch((err: unknown) => log(`could not drop schema ${store.schema}: ${String(err)}`));
  }
  if (opt.json) process.stdout.write(`${JSON.stringify({ durationMs: opt.durationMs, subscribers: opt.subscribers, rows: rows.list }, null, 2)}\n`);
  else process.stdout.write(rows.table());
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:capacity failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
