/**
 * `npm run soak`: hours-in-minutes for leaks. Starts `ddp-guard serve` (SQLite file, default
 * bcrypt cost) in a child process with `bench/soak-app.ts`, measures a quick throughput, then
 * loads it at a steady rate (default: half of that) with a realistic mix — method calls, a
 * guarded method answered with the password fallback, subscriptions that come and go, token
 * lists, reconnects that resume their session — and every 10 s prints the server's RSS, heap,
 * event-loop delay and live counts. At the end: a verdict on memory growth, comparing the last
 * minute's RSS with the second minute's (for runs under 4 minutes, quarter-length windows).
 *
 *   npm run soak -- --minutes 2 [--rate 500] [--connections 20]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'cli', 'main.js');
const APP = path.join(here, 'soak-app.js');
const PASSWORD = 'soak-password-1';
const DIGEST = createHash('sha256').update(PASSWORD).digest('hex');
const REPORT_EVERY_MS = 10_000;

/** A lean DDP client: pipelined calls, subscriptions, pings answered; keeps no history. */
class Conn {
  private next = 0;
  private readonly pending = new Map<string, (msg: Msg) => void>();
  private readonly subs = new Map<string, () => void>();
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Msg;
      if (msg.msg === 'ping') ws.send(msg.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: msg.id }));
      else if (msg.msg === 'result') {
        const done = this.pending.get(msg.id as string);
        this.pending.delete(msg.id as string);
        done?.(msg);
      } else if (msg.msg === 'ready') for (const id of msg.subs as string[]) this.subs.get(id)?.();
      else if (msg.msg === 'nosub') this.subs.get(msg.id as string)?.();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const done of this.pending.values()) done({ msg: 'result', error: { error: 'closed' } });
      this.pending.clear();
    });
    ws.on('error', () => {});
  }

  static async open(url: string): Promise<Conn> {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { 'user-agent': 'ddp-guard-soak/1.0' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const conn = new Conn(ws);
    const connected = new Promise<void>((resolve) => {
      const on = (data: WebSocket.RawData): void => {
        if (String(data).includes('"connected"')) {
          ws.off('message', on);
          resolve();
        }
      };
      ws.on('message', on);
    });
    ws.send('{"msg":"connect","version":"1","support":["1"]}');
    await connected;
    return conn;
  }

  call(method: string, ...params: unknown[]): Promise<Msg> {
    if (this.closed) return Promise.resolve({ msg: 'result', error: { error: 'closed' } });
    const id = String(++this.next);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ msg: 'method', method, params, id }));
    });
  }

  /** Subscribe, wait for ready, stay a while, unsubscribe. */
  async subscribeBriefly(name: string, param: unknown, stayMs: number): Promise<void> {
    const id = `s${++this.next}`;
    await new Promise<void>((resolve) => {
      this.subs.set(id, resolve);
      this.ws.send(JSON.stringify({ msg: 'sub', id, name, params: [param] }));
    });
    await new Promise((resolve) => setTimeout(resolve, stayMs));
    await new Promise<void>((resolve) => {
      this.subs.set(id, resolve);
      this.ws.send(JSON.stringify({ msg: 'unsub', id }));
    });
    this.subs.delete(id);
  }

  close(): void {
    this.ws.close();
  }
}

async function startServer(dir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('DDP_GUARD_')) delete env[key];
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--db', path.join(dir, 'soak.sqlite'), '--app', APP, '--signup', '--log-level', 'warn'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ws:\/\/\S+\/websocket/.exec(out);
      if (m) resolve(m[0]);
    });
    void exited.then((code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  return { child, url, exited };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** One connection of the load: logged in, resumable, with a few operations in flight at once. */
interface Worker {
  conn: Conn;
  token: string;
  busy: number;
  reconnecting: boolean;
}

/** Operations in flight per connection at most. */
const LANES = 4;

async function loginWorker(url: string, i: number): Promise<Worker> {
  const conn = await Conn.open(url);
  const username = `soak${i}`;
  let r = await conn.call('createUser', { username, password: { digest: DIGEST, algorithm: 'sha-256' } });
  if (r.error) r = await conn.call('login', { user: { username }, password: { digest: DIGEST, algorithm: 'sha-256' } });
  if (r.error) throw new Error(`login ${username}: ${JSON.stringify(r.error)}`);
  return { conn, token: r.result.token as string, busy: 0, reconnecting: false };
}

/** One operation of the mix; returns false on an unexpected error. */
async function operation(url: string, w: Worker, roll: number, n: number): Promise<boolean> {
  if (roll >= 0.97 && w.busy === 1) {
    // Reconnect and resume the session, as a client does after a network blip (only when
    // nothing else is in flight on this connection).
    w.reconnecting = true;
    try {
      w.conn.close();
      w.conn = await Conn.open(url);
      const r = await w.conn.call('login', { resume: w.token });
      return r.error === undefined;
    } finally {
      w.reconnecting = false;
    }
  }
  if (roll < 0.75 || roll >= 0.97) {
    const r = await w.conn.call('soak.echo', { n, text: 'hello soak' });
    return r.error === undefined && r.result.n === n;
  }
  if (roll < 0.85) {
    let r = await w.conn.call('soak.guarded');
    if (r.error?.error === 'totp-required') r = await w.conn.call('soak.guarded', { twoFactorCode: DIGEST, twoFactorMethod: 'password' });
    return r.result === 'ok';
  }
  if (roll < 0.92) {
    await w.conn.subscribeBriefly('soak.feed', 1 + (n % 10), 50 + (n % 200));
    return !w.conn.closed;
  }
  const r = await w.conn.call('personalAccessTokens:list');
  return r.error === undefined;
}

/** Runs the mix at `rate` operations/s (Infinity: as many as the lanes allow). */
class Load {
  ops = 0;
  failures = 0;
  inFlight = 0;
  /** Operations due that found no free lane. */
  skipped = 0;
  latencies: number[] = [];
  private n = 0;
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private started = 0;

  constructor(private readonly url: string, private readonly workers: Worker[], private readonly rate: number) {}

  start(): void {
    this.started = performance.now();
    this.timer = setInterval(() => this.tick(), 2);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private free(): Worker | null {
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[(this.next + i) % this.workers.length]!;
      if (w.busy < LANES && !w.reconnecting) {
        this.next = (this.next + i + 1) % this.workers.length;
        return w;
      }
    }
    return null;
  }

  private tick(): void {
    const due = this.rate === Infinity ? Infinity : Math.floor(((performance.now() - this.started) / 1000) * this.rate) - (this.ops + this.inFlight + this.skipped);
    for (let i = 0; i < due; i++) {
      const w = this.free();
      if (!w) {
        if (this.rate !== Infinity) this.skipped += due - i;
        return;
      }
      w.busy++;
      this.inFlight++;
      const t0 = performance.now();
      operation(this.url, w, Math.random(), ++this.n).then((ok) => {
        if (!ok) this.failures++;
      }, () => {
        this.failures++;
      }).finally(() => {
        this.latencies.push(performance.now() - t0);
        w.busy--;
        this.inFlight--;
        this.ops++;
      });
    }
  }
}

interface Sample {
  atMs: number;
  rss: number;
  heapUsed: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string' },
      connections: { type: 'string', default: '20' },
    },
  });
  const minutes = Number(values.minutes);
  const connections = Number(values.connections);
  if (!(minutes > 0) || !(connections > 0)) throw new Error('--minutes and --connections must be positive numbers');
  const dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-soak-'));
  const server = await startServer(dir);
  console.log(`soak: ddp-guard serve at ${server.url} (SQLite file, bcrypt cost 10), ${connections} connections, ${minutes} min`);
  try {
    const statsConn = await Conn.open(server.url);
    const workers = await Promise.all(Array.from({ length: connections }, (_, i) => loginWorker(server.url, i)));
    // A quick throughput: the same mix with every lane busy, for 5 s.
    const probe = new Load(server.url, workers, Infinity);
    probe.start();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await probe.stop();
    const throughput = probe.ops / 5;
    const rate = values.rate === undefined ? Math.max(1, Math.floor(throughput / 2)) : Number(values.rate);
    console.log(`quick throughput of the mix (${connections} connections × ${LANES} in flight): ${Math.round(throughput)} operations/s; soak rate: ${rate} operations/s${values.rate === undefined ? ' (half)' : ''}`);
    console.log('mix: 75 % soak.echo, 10 % a guarded method (password fallback, then trusted), 7 % subscribe for 50-250 ms then unsubscribe, 5 % personalAccessTokens:list, 3 % reconnect and resume');
    await statsConn.call('soak.stats'); // resets the event-loop histogram

    const load = new Load(server.url, workers, rate);
    const durationMs = minutes * 60_000;
    const samples: Sample[] = [];
    let opsAtLastReport = 0;
    load.start();
    const started = performance.now();
    const report = async (): Promise<void> => {
      const s = (await statsConn.call('soak.stats')).result as Msg;
      const atMs = performance.now() - started;
      samples.push({ atMs, rss: s.rss as number, heapUsed: s.heapUsed as number });
      const done = load.ops - opsAtLastReport;
      opsAtLastReport = load.ops;
      const lat = load.latencies;
      load.latencies = [];
      console.log(`${(atMs / 1000).toFixed(0).padStart(5)} s  rss ${mib(s.rss).padStart(10)}  heap ${mib(s.heapUsed).padStart(9)}  loop delay p50 ${String(s.loopP50).padStart(5)} p99 ${String(s.loopP99).padStart(6)} max ${String(s.loopMax).padStart(6)} ms  ${String(Math.round(done / (REPORT_EVERY_MS / 1000))).padStart(5)} ops/s  op p50 ${percentile(lat, 50).toFixed(1)} p99 ${percentile(lat, 99).toFixed(1)} ms  failures ${load.failures}  skipped ${load.skipped}  sessions ${s.stats.sessions} subs ${s.stats.subscriptions} docs ${s.stats.documents}`);
    };
    while (performance.now() - started < durationMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(REPORT_EVERY_MS, durationMs - (performance.now() - started))));
      await report();
    }
    await load.stop();

    // The verdict: mean RSS of the second window against the last window.
    const windowMs = Math.min(60_000, durationMs / 4);
    const mean = (from: number, to: number, key: 'rss' | 'heapUsed'): number => {
      const inside = samples.filter((s) => s.atMs > from + 1000 && s.atMs <= to + 1000);
      return inside.reduce((sum, s) => sum + s[key], 0) / Math.max(1, inside.length);
    };
    const second = { rss: mean(windowMs, 2 * windowMs, 'rss'), heap: mean(windowMs, 2 * windowMs, 'heapUsed') };
    const last = { rss: mean(durationMs - windowMs, durationMs, 'rss'), heap: mean(durationMs - windowMs, durationMs, 'heapUsed') };
    const growth = (last.rss - second.rss) / second.rss;
    const label = windowMs === 60_000 ? 'minute' : `${windowMs / 1000}-s window`;
    const { ops, failures, skipped } = load;
    console.log(`\n${ops} operations in ${(durationMs / 60_000).toFixed(1)} min (${Math.round(ops / (durationMs / 1000))} ops/s), ${failures} failures, ${skipped} skipped (no free lane)`);
    console.log(`RSS (mean of the 10-s samples): second ${label} ${mib(second.rss)}, last ${label} ${mib(last.rss)}: ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %`);
    console.log(`heap used: second ${label} ${mib(second.heap)}, last ${label} ${mib(last.heap)}`);
    const ok = growth < 0.1 && failures === 0;
    console.log(ok
      ? `verdict: PASS — memory is flat (RSS grew less than 10 % from the second to the last ${label}) and no operation failed`
      : `verdict: FAIL — ${failures > 0 ? `${failures} failed operations; ` : ''}${growth >= 0.1 ? `RSS grew ${(growth * 100).toFixed(1)} % from the second to the last ${label}` : ''}`);
    for (const w of workers) w.conn.close();
    statsConn.close();
    return ok ? 0 : 1;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
