/**
 * `npm run bench:fleet`: idle connections held by several server processes at once, the way one
 * machine holds 100 000: `ddp-guard serve` processes (its defaults, heartbeats included, plus a
 * shared PostgreSQL schema and Redis) against as many raw `ws` servers holding the same number
 * in the same run. The sockets come from load-generator processes (bench/fleet-gen.ts), each
 * with its own loopback source address and fewer sockets than a process's descriptor limit.
 * Reports the connections held after `--hold` seconds, each side's RSS growth per connection,
 * and the p99 of plain calls on one more connection (from a probe process of its own, the same
 * for both) while they are held against none.
 * `--help` lists the options.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpuOf } from './backends.js';
import { niceOf } from './proc.js';
import { Generator, Prober, SharedStore, gcRss, loopStats, portRange, startBaselines, startLoopStats, startServes, widenPortRange, type FleetServer } from './fleet-procs.js';
import { Rows } from './report.js';
import type { Protocol } from './load.js';
import type { FleetTarget } from './fleet-gen.js';
import type { ProbeResult } from './fleet-probe.js';
import type { LoopStats } from './servers/ipc.js';

export const FLEET_HELP = `Usage: node dist/bench/fleet.js [options]   (npm run bench:fleet -- [options])

  --idle <n>          connections in all (default 100000)
  --processes <n>     server processes of each kind (default: 6 for 100 000, at least 5, < 18 000 each)
  --per-generator <n> sockets per load-generator process (default 16000; < ulimit -Hn)
  --hold <s>          how long they are held with heartbeats at serve's defaults (default 60)
  --probe-rate <n>    plain calls per second on the extra connection (default 100), from a
                      probe process of its own, the same for both kinds of server
  --generator-nice <n> run the load generators (both kinds of server alike) at this CPU
                      priority (\`nice -n\`, e.g. 19: they stand in for remote clients, whose
                      CPU a server machine does not spend); the servers and the probe keep the
                      normal priority (default 0: all alike)
  --loop-stats        also measure each server's event-loop delay while held (a 10 ms timer in
                      each server: a load of its own, so off by default)
  --json              print every figure as JSON on stdout
  -h, --help          this text`;

interface FleetOptions { idle: number; processes: number; perGenerator: number; holdMs: number; probeRate: number; json: boolean; loopStats: boolean; generatorNice: number }

function parse(args: readonly string[]): FleetOptions | string {
  const o: FleetOptions = { idle: 100_000, processes: 0, perGenerator: 16_000, holdMs: 60_000, probeRate: 100, json: false, loopStats: false, generatorNice: 0 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (): number => Number(args[++i]);
    if (a === '-h' || a === '--help') return FLEET_HELP;
    else if (a === '--json') o.json = true;
    else if (a === '--loop-stats') o.loopStats = true;
    else if (a === '--idle') o.idle = num();
    else if (a === '--processes') o.processes = num();
    else if (a === '--per-generator') o.perGenerator = num();
    else if (a === '--hold') o.holdMs = num() * 1000;
    else if (a === '--probe-rate') o.probeRate = num();
    else if (a === '--generator-nice') o.generatorNice = num();
    else return `unknown option '${a}'\n\n${FLEET_HELP}`;
  }
  if (o.processes === 0) o.processes = Math.max(5, Math.ceil(o.idle / 18_000));
  for (const [k, v] of Object.entries(o)) if (k !== 'generatorNice' && typeof v === 'number' && !(Number.isInteger(v) && v > 0)) return `--${k} takes a whole number above 0`;
  if (!(Number.isInteger(o.generatorNice) && o.generatorNice >= 0 && o.generatorNice <= 19)) return '--generator-nice takes a whole number from 0 to 19';
  return o;
}

const parsed = parse(process.argv.slice(2));
if (typeof parsed === 'string') {
  process.stdout.write(`${parsed}\n`);
  process.exit(parsed === FLEET_HELP ? 0 : 2);
}
const opt = parsed;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Which generator opens how many connections to which server: connection k goes to server k mod P. */
function plan(urls: readonly string[], n: number, generators: number): FleetTarget[][] {
  const perGen = Math.ceil(n / generators);
  return Array.from({ length: generators }, (_, g) => {
    const counts = new Array<number>(urls.length).fill(0);
    for (let k = g * perGen; k < Math.min(n, (g + 1) * perGen); k++) counts[k % urls.length]!++;
    return urls.map((url, s) => ({ url, count: counts[s]! }));
  });
}

/** Halves of a plan, so RSS can be read in the middle. */
const half = (targets: FleetTarget[], first: boolean): FleetTarget[] => targets.map((t) => ({ url: t.url, count: first ? Math.floor(t.count / 2) : t.count - Math.floor(t.count / 2) }));

async function openAll(gens: Generator[], plans: FleetTarget[][], protocol: Protocol, total: number): Promise<{ opened: number; failed: number; firstError: string | null }> {
  const t0 = performance.now();
  const progress = setInterval(() => log(`  … ${gens.reduce((a, g) => a + g.opened, 0)} of ${total} open (${((performance.now() - t0) / 1000).toFixed(0)} s)`), 5000);
  try {
    const results = await Promise.all(gens.map((g, i) => g.open(plans[i]!, protocol, PORTS)));
    return { opened: results.reduce((a, r) => a + r.opened, 0), failed: results.reduce((a, r) => a + r.failed, 0), firstError: results.find((r) => r.firstError)?.firstError ?? null };
  } finally {
    clearInterval(progress);
  }
}

interface PhaseResult {
  kernelPerConn: number; holdCpu: number; generatorCpu: number; perConn: number; perConnSecondHalf: number; perConnHeld: number;
  /** Each load generator's nice value, read from /proc while they were held. */
  generatorNice: number[];
  opened: number; failed: number; held: number; pongs: number; clientPings: number; timedOut: number; openSeconds: number; firstError: string | null;
  /** The probe with none held, then while all are held (the hold's first second is its warm-up). */
  quiet: ProbeResult; busy: ProbeResult;
  /** Each server's event-loop delay (with --loop-stats) and GC pauses while they were held. */
  loops: LoopStats[];
}

/** Kernel memory for sockets, machine-wide: slab (socket, inode, dentry objects…) plus the pages TCP buffers hold. */
function kernelBytes(): number {
  const slab = /^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  const tcp = /^TCP: .* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return (slab ? Number(slab[1]) * 1024 : 0) + (tcp ? Number(tcp[1]) * 4096 : 0);
}

/** The probe with none held: long enough for a p99 of 1 000 calls at the default rate. */
const QUIET_PROBE_MS = 10_000;

/** Source addresses 127.R.<phase>.2… with R random per run: a new address per phase keeps ports left in TIME_WAIT out of the way. */
const RUN_OCTET = 1 + Math.floor(Math.random() * 250);

async function phase(name: string, phaseNo: number, servers: FleetServer[], protocol: Protocol, prober: Prober): Promise<PhaseResult> {
  const n = opt.idle;
  const generators = Math.ceil(n / opt.perGenerator);
  const plans = plan(servers.map((s) => s.url), n, generators);
  const gens = plans.map((_, g) => new Generator(`127.${RUN_OCTET}.${phaseNo}.${g + 2}`, opt.generatorNice));
  try {
    const probeProtocol = protocol === 'ddp' ? 'ddp' : 'baseline';
    const quiet = await prober.run(servers[0]!.url, probeProtocol, opt.probeRate, QUIET_PROBE_MS);
    const start = await gcRss(servers);
    const kernelStart = kernelBytes();
    const t0 = performance.now();
    log(`${name}: opening ${n} connections to ${servers.length} processes from ${generators} load generators (${gens.map((g) => g.localAddress).join(', ')})…`);
    const a = await openAll(gens, plans.map((p) => half(p, true)), protocol, n);
    const middle = await gcRss(servers);
    const b = await openAll(gens, plans.map((p) => half(p, false)), protocol, n);
    const openSeconds = (performance.now() - t0) / 1000;
    const end = await gcRss(servers);
    const kernelPerConn = (kernelBytes() - kernelStart) / n;
    const opened = b.opened; // each generator counts its open connections from its start
    log(`${name}: ${opened} open in ${openSeconds.toFixed(0)} s (${a.failed + b.failed} failed${a.firstError ?? b.firstError ? `: ${a.firstError ?? b.firstError}` : ''}); holding ${opt.holdMs / 1000} s…`);
    const before = await Promise.all(gens.map((g) => g.count()));
    const cpuBefore = cpuOf(servers.map((s) => s.pid));
    const genCpuBefore = cpuOf(gens.map((g) => g.pid));
    const generatorNice = gens.map((g) => niceOf(g.pid));
    startLoopStats(servers, opt.loopStats);
    const holdStart = performance.now();
    // Only while every connection is open: the generators answered 'opened' for all of them above.
    const busy = await prober.run(servers[0]!.url, probeProtocol, opt.probeRate, opt.holdMs - 1000);
    const loops = await loopStats(servers);
    const counts = await Promise.all(gens.map((g) => g.count()));
    const seconds = (performance.now() - holdStart) / 1000;
    const holdCpu = (cpuOf(servers.map((s) => s.pid)) - cpuBefore) / seconds;
    const generatorCpu = (cpuOf(gens.map((g) => g.pid)) - genCpuBefore) / seconds;
    const held = counts.reduce((x, c) => x + c.open, 0);
    const total = (k: 'pongs' | 'pings' | 'timedOut', of: typeof counts): number => of.reduce((x, c) => x + c[k], 0);
    const pongs = total('pongs', counts) - total('pongs', before);
    const clientPings = total('pings', counts) - total('pings', before);
    const timedOut = total('timedOut', counts);
    const after = await gcRss(servers);
    const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
    log(`${name}: probe p99 ${quiet.p99.toFixed(2)} ms with none, ${busy.p99.toFixed(2)} ms while held (its own loop delay p99 ${quiet.selfDelayP99.toFixed(1)}, ${busy.selfDelayP99.toFixed(1)} ms); servers' GC pauses while held (count/total/longest ms, major and minor): ${loops.map((l) => [l.gc.major, l.gc.minor].map((g) => `${g.count}/${g.totalMs.toFixed(0)}/${g.maxMs.toFixed(1)}`).join(' ')).join(', ')}${opt.loopStats ? `; loop delay p99/max ${loops.map((l) => `${l.delay.p99.toFixed(1)}/${l.delay.max.toFixed(0)}`).join(', ')} ms` : ''}`);
    log(`${name}: ${held} of ${n} still open after ${opt.holdMs / 1000} s, ${pongs} heartbeat pongs and ${clientPings} client pings sent (${timedOut} heartbeat timeouts); generators ${generatorCpu.toFixed(2)} cores; RSS ${(sum(start) / 2 ** 20).toFixed(0)} → ${(sum(end) / 2 ** 20).toFixed(0)} → ${(sum(after) / 2 ** 20).toFixed(0)} MiB`);
    const secondHalf = n - Math.floor(n / 2);
    return {
      kernelPerConn, holdCpu, generatorCpu, generatorNice, perConn: (sum(end) - sum(start)) / n, perConnSecondHalf: (sum(end) - sum(middle)) / secondHalf, perConnHeld: (sum(after) - sum(start)) / n,
      opened, failed: a.failed + b.failed, held, pongs, clientPings, timedOut, openSeconds, firstError: a.firstError ?? b.firstError, quiet, busy, loops,
    };
  } finally {
    await Promise.all(gens.map((g) => g.close()));
  }
}

let PORTS: [number, number] = [32768, 60999];

async function main(): Promise<void> {
  const n = opt.idle;
  const P = opt.processes;
  const perGen = Math.ceil(n / Math.ceil(n / opt.perGenerator));
  const range = portRange();
  PORTS = [range.low, range.high];
  const ports = range.high - range.low + 1;
  log(`fleet: ${n} idle connections over ${P} processes of each kind (${Math.ceil(n / P)} each), ${perGen} per load generator (nice ${opt.generatorNice}); ephemeral ports ${range.low}–${range.high} (${ports} per source address, ${range.writable ? 'writable' : 'not writable'})`);
  if (perGen > ports - 1000) {
    if (!range.writable) throw new Error(`a load generator needs ${perGen} source ports and the range has ${ports}: lower --per-generator`);
    widenPortRange();
    PORTS = [1024, 65535];
    log('  widened the ephemeral port range to 1024–65535');
  }
  const rows = new Rows();
  const scenario = `fleet ${n} on ${P}`;
  const prober = new Prober();
  let base: PhaseResult;
  let ddp: PhaseResult;
  try {
    const baselines = await startBaselines(P);
    try {
      base = await phase('raw ws', 1, baselines, 'baseline', prober);
    } finally {
      await Promise.all(baselines.map((s) => s.stop()));
    }
    const store = new SharedStore();
    const serves = await startServes(P, store);
    try {
      ddp = await phase('ddp-guard serve', 2, serves, 'ddp', prober);
    } finally {
      await Promise.all(serves.map((s) => s.stop()));
      await store.drop().catch((err: unknown) => log(`could not drop schema ${store.schema}: ${String(err)}`));
    }
  } finally {
    await prober.stop();
  }
  rows.check(scenario, `connections held ${opt.holdMs / 1000} s by ${P} serve processes (of ${n})`, ddp.held, `= ${n}`, ddp.held === n);
  rows.check(scenario, `raw ws: connections held (of ${n})`, base.held, `= ${n}`, base.held === n);
  rows.add(scenario, `RSS bytes per connection, ${n} held after the handshake (from none)`, base.perConn, ddp.perConn, '≤ 1.20', (r) => base.perConn > 0 && r <= 1.2);
  rows.add(scenario, '… second half only', base.perConnSecondHalf, ddp.perConnSecondHalf, 'info', null);
  rows.add(scenario, `… after ${opt.holdMs / 1000} s of heartbeats`, base.perConnHeld, ddp.perConnHeld, 'info', null);
  rows.add(scenario, `plain call p99 ms on one more connection while ${n} held (vs none)`, ddp.quiet.p99, ddp.busy.p99, '≤ 2.00', (r) => r <= 2);
  rows.add(scenario, 'plain call p50 ms (vs none)', ddp.quiet.p50, ddp.busy.p50, 'info', null);
  rows.add(scenario, `raw ws: the same probe's p99 ms while ${n} held (vs none)`, base.quiet.p99, base.busy.p99, 'info', null);
  rows.add(scenario, 'p99 ms while held: ddp-guard against raw ws', base.busy.p99, ddp.busy.p99, 'info', null);
  rows.check(scenario, `heartbeat pongs per connection during the hold (serve pings after 15 s idle)`, ddp.pongs / Math.max(1, ddp.held), opt.holdMs >= 30_000 ? '≥ 1' : 'info', opt.holdMs < 30_000 || ddp.pongs >= ddp.held);
  rows.check(scenario, 'client pings per connection during the hold (Meteor client: after 17.5 s without a message)', ddp.clientPings / Math.max(1, ddp.held), 'info', true);
  rows.add(scenario, 'load-generator cores busy while they are held', base.generatorCpu, ddp.generatorCpu, 'info', null);
  rows.add(scenario, 'longest GC pause ms in a server while held', Math.max(...base.loops.map((l) => l.gc.maxMs)), Math.max(...ddp.loops.map((l) => l.gc.maxMs)), 'info', null);
  rows.add(scenario, 'server cores busy while they are held (all processes; ddp-guard includes the probe calls)', base.holdCpu, ddp.holdCpu, 'info', null);
  rows.add(scenario, 'kernel bytes per connection (slab + TCP buffer pages, machine-wide: both ends of a loopback connection, and other processes)', base.kernelPerConn, ddp.kernelPerConn, 'info', null);
  rows.add(scenario, 'seconds to open them all', base.openSeconds, ddp.openSeconds, 'info', null);
  rows.check(scenario, 'connections per GiB of server RSS (after the handshake)', 2 ** 30 / ddp.perConn, 'info', true);
  if (opt.json) {
    process.stdout.write(`${JSON.stringify({ idle: n, processes: P, perGenerator: perGen, generatorNice: opt.generatorNice, holdMs: opt.holdMs, portRange: range, baseline: base, ddp, rows: rows.list }, null, 2)}\n`);
    return;
  }
  process.stdout.write(rows.table());
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fleet failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
