/**
 * The `logins` scenario of `npm run bench`: logins under admission control.
 *
 * The server's bcrypt pool has one worker per core but one (at least one; on a machine of 4 or
 * more cores with taskset, cores − 2, on cores 2 and up, the load generator keeping core 1),
 * and its queue is bounded (`passwordQueueMax`, `passwordQueueMs`, defaults). In one run:
 *
 * 1. capacity: logins/s with the pool saturated (a closed loop of 4 logins in flight per worker)
 *    and no plain calls, measured before phase 3 and again after it (the larger counts: on a
 *    shared machine bcrypt's speed moves);
 * 2. plain calls (`echo`, open loop at 500/s on one connection) with no logins: p50/p99;
 * 3. the same plain calls while logins are offered at 20/s, open loop (login n is sent at
 *    n × 50 ms whatever became of the others): plain p99, logins completed/s, how fast refused
 *    logins were answered, how long accepted ones took.
 *
 * Logins rotate over 16 users: checks of one account run one at a time by design (the guessing
 * budget), so one user would never fill more than one worker.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LoadConnection, latencySummary } from './load.js';
import { cpuCount, pinThread, setOwnNice, threadsNamed } from './threads.js';
import { WORKER_THREAD_NAME } from '../server/security/password-worker.js';

/** Logins offered per second in the measured phase. */
export const LOGIN_RATE = 20;
/** Plain calls: one connection, open loop at this rate. */
export const PLAIN_RATE = 500;
/** Users the logins rotate over (`bench-0` …, created by bench/servers/ddp.ts `--login-users`). */
export const LOGIN_USERS = 16;
/** The load generator's nice value while bcrypt threads may run on its core (needs root). */
const LOAD_NICE = -10;
const DIGEST = createHash('sha256').update('bench-password').digest('hex');

export interface LoginsServer { pid: number; url: string }

/** What the scenario needs from bench/run.ts. */
export interface LoginsDeps {
  taskset: boolean;
  warmupMs: number;
  durationMs: number;
  startServer(extra: string[]): Promise<LoginsServer>;
  stopServer(server: LoginsServer): Promise<void>;
  paced(server: LoginsServer, rate: number): Promise<{ p50: number; p99: number }>;
  log(line: string): void;
}

export interface LoginsResult {
  workers: number;
  bcryptCpus: string;
  /** Logins/s with the pool saturated, no plain calls. */
  capacity: number;
  quiet: { p50: number; p99: number };
  busy: { p50: number; p99: number };
  /** Logins completed per second while offered at LOGIN_RATE (measure window). */
  completedPerSec: number;
  offered: number;
  accepted: number;
  refused: number;
  /** Errors other than the admission refusal. */
  failed: number;
  refusedMaxMs: number;
  refusedLate: number;
  refusedP99Ms: number;
  acceptedMaxMs: number;
  acceptedP99Ms: number;
}

type Outcome = { kind: 'ok' | 'refused' | 'failed'; ms: number; at: number };

async function oneLogin(conn: LoadConnection, user: number): Promise<Outcome> {
  const start = performance.now();
  const reply = await conn.request('login', [{ user: { username: `bench-${user % LOGIN_USERS}` }, password: { digest: DIGEST, algorithm: 'sha-256' } }]);
  const at = performance.now();
  const error = reply.error as { error?: unknown; details?: { timeToReset?: unknown } } | undefined;
  if (!error) return { kind: 'ok', ms: at - start, at };
  const refused = error.error === 'too-many-requests' && typeof error.details?.timeToReset === 'number';
  return { kind: refused ? 'refused' : 'failed', ms: at - start, at };
}

/** A pool of connections; each login takes a connection not busy with another one. */
class Pool {
  private readonly free: LoadConnection[];
  constructor(private readonly all: LoadConnection[]) {
    this.free = [...all];
  }
  async login(user: number): Promise<Outcome> {
    const conn = this.free.pop();
    if (!conn) return { kind: 'failed', ms: 0, at: performance.now() };
    try {
      return await oneLogin(conn, user);
    } finally {
      this.free.push(conn);
    }
  }
  close(): void {
    for (const c of this.all) c.close();
  }
}

export async function loginsScenario(deps: LoginsDeps): Promise<LoginsResult> {
  const cores = cpuCount();
  const ownCores = deps.taskset && cores >= 4;
  const workers = ownCores ? cores - 2 : Math.max(1, cores - 1);
  const bcryptCpus = ownCores ? `2-${cores - 1}` : cores > 1 ? `1-${cores - 1}` : '0';
  const server = await deps.startServer(['--password-workers', String(workers), '--login-users', String(LOGIN_USERS)]);
  let restoreNice: number | null = null;
  try {
    const pool = new Pool(await Promise.all(Array.from({ length: 100 }, () => LoadConnection.open(server.url, 'ddp'))));
    // Workers start on demand: one login per worker starts them all before they are placed.
    await Promise.all(Array.from({ length: workers }, (_, i) => pool.login(i)));
    const threads = threadsNamed(server.pid, WORKER_THREAD_NAME);
    if (deps.taskset) {
      for (const t of threads) pinThread(t.tid, bcryptCpus);
      if (threads.length < workers) deps.log(`  warning: found ${threads.length} of ${workers} bcrypt threads; the others stay on core 0`);
      if (!ownCores) {
        restoreNice = setOwnNice(LOAD_NICE);
        if (restoreNice === null) deps.log(`  warning: could not set the load generator to nice ${LOAD_NICE}; bcrypt may delay its wake-ups`);
      }
    }
    deps.log(`  ${workers} bcrypt worker(s) on cores ${deps.taskset ? bcryptCpus : 'unpinned'}; event loop on core 0; load generator on core 1${restoreNice !== null ? ` at nice ${LOAD_NICE}` : ''}`);

    // 1. Capacity: the pool saturated, no plain calls (measured again at the end: the larger counts).
    const capacityBefore = await saturated(pool, workers * 4, deps);
    // 2. Plain calls alone.
    const quiet = await deps.paced(server, PLAIN_RATE);
    // 3. Plain calls while logins are offered at LOGIN_RATE, open loop.
    const outcomes: Outcome[] = [];
    const period = 1000 / LOGIN_RATE;
    let sent = 0;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const inFlight = new Set<Promise<void>>();
    const tick = (): void => {
      for (const due = Math.floor((performance.now() - t0) / period) + 1; sent < due; sent++) {
        const p = pool.login(sent).then((o) => {
          outcomes.push(o);
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      timer = setTimeout(tick, t0 + sent * period - performance.now());
    };
    tick();
    const from = performance.now() + deps.warmupMs;
    const busy = await deps.paced(server, PLAIN_RATE);
    const to = performance.now();
    clearTimeout(timer);
    await Promise.all(inFlight);
    const capacityAfter = await saturated(pool, workers * 4, deps);
    const capacity = Math.max(capacityBefore, capacityAfter);
    deps.log(`  pool capacity: ${capacityBefore.toFixed(1)} logins/s before, ${capacityAfter.toFixed(1)} after (the larger is the target's base)`);
    pool.close();
    const inWindow = outcomes.filter((o) => o.at >= from && o.at < to);
    const accepted = outcomes.filter((o) => o.kind === 'ok');
    const refused = outcomes.filter((o) => o.kind === 'refused');
    const acc = latencySummary(accepted.map((o) => o.ms));
    const ref = latencySummary(refused.map((o) => o.ms));
    return {
      workers,
      bcryptCpus,
      capacity,
      quiet,
      busy,
      completedPerSec: inWindow.filter((o) => o.kind === 'ok').length / ((to - from) / 1000),
      offered: sent,
      accepted: accepted.length,
      refused: refused.length,
      failed: outcomes.filter((o) => o.kind === 'failed').length,
      refusedMaxMs: refused.reduce((m, o) => Math.max(m, o.ms), 0),
      refusedLate: refused.filter((o) => o.ms >= 5).length,
      refusedP99Ms: refused.length > 0 ? ref.p99 : 0,
      acceptedMaxMs: accepted.reduce((m, o) => Math.max(m, o.ms), 0),
      acceptedP99Ms: acc.p99,
    };
  } finally {
    if (restoreNice !== null) setOwnNice(restoreNice);
    await deps.stopServer(server);
  }
}

/** Logins/s completed by `concurrency` logins always in flight (warm-up, then the measure window). */
async function saturated(pool: Pool, concurrency: number, deps: LoginsDeps): Promise<number> {
  const start = performance.now();
  const from = start + deps.warmupMs;
  const until = from + deps.durationMs;
  let done = 0;
  let user = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const o = await pool.login(user++);
      if (o.kind === 'ok' && o.at >= from && o.at < until) done++;
      // A refusal (the queue is bounded) waits a little rather than spinning.
      if (o.kind !== 'ok') await new Promise((r) => setTimeout(r, 5));
    }
  }));
  return done / (deps.durationMs / 1000);
}

/** The scenario's rows; each target row says NO on a miss. */
export function loginsRows(l: LoginsResult, row: (metric: string, baseline: number | null, ddp: number, target: string, pass: ((ratio: number) => boolean) | null) => void): void {
  const expected = Math.min(l.capacity, LOGIN_RATE);
  row(`plain p99 ms while ${LOGIN_RATE} logins/s are offered (vs none)`, l.quiet.p99, l.busy.p99, '≤ 2.0', (r) => r <= 2);
  row('plain p50 ms (vs none)', l.quiet.p50, l.busy.p50, 'info', null);
  row(`logins/s completed (vs the pool's capacity, ${l.capacity.toFixed(1)}/s with ${l.workers} worker(s), or ${LOGIN_RATE}/s if less)`, expected, l.completedPerSec, '≥ 0.90', (r) => r >= 0.9 && l.failed === 0);
  row(`refused logins: slowest answer ms (${l.refused} of ${l.offered} refused; vs the 5 ms target)`, 5, l.refusedMaxMs, '< 1.00', (r) => r < 1);
  row('refused logins: p99 answer ms', null, l.refusedP99Ms, 'info', null);
  row('refused logins answered in 5 ms or more (a wait ran out, or a slow answer)', null, l.refusedLate, 'info', null);
  row(`accepted logins: slowest ms (${l.accepted} accepted${l.failed > 0 ? `, ${l.failed} failed otherwise` : ''}; vs the 2000 ms target)`, 2000, l.acceptedMaxMs, '≤ 1.00', (r) => r <= 1);
  row('accepted logins: p99 ms', null, l.acceptedP99Ms, 'info', null);
}
