/**
 * How much password logins slow down everybody else: p50/p99 latency of a plain `echo` call
 * (one at a time, C=1) on an idle server, then while 20 logins per second (bcrypt cost 10) run
 * on other connections, and the ratio of the two. The server runs in a child process so the
 * load generator does not share its event loop.
 *
 *   node dist/bench/logins.js [--seconds 4] [--rate 20]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
};
const SECONDS = flag('seconds', 4);
const RATE = flag('rate', 20);
const WARMUP_MS = 500;
const PASSWORD = 'bench-password';

/** The child: a server with `echo` and one user, on a free port. */
async function serve(): Promise<void> {
  const { createServer, silentLogger } = await import('../server/index.js');
  const { createUserRecord } = await import('../server/accounts/admin.js');
  const server = createServer({ port: 0, db: 'memory', logger: silentLogger, accountsRateLimitCount: 1_000_000, bcryptCost: 10 });
  server.methods({ echo: (...params: unknown[]) => params });
  await server.listen();
  const services = await server.services.get();
  await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'bench', password: PASSWORD });
  process.stdout.write(`ready ${server.address()!.port}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/** A minimal DDP client: one method call at a time is all the bench needs per connection. */
class Conn {
  private nextId = 0;
  private readonly waiting = new Map<string, (ok: boolean) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      const msg = JSON.parse(String(data)) as { msg: string; id?: string; error?: unknown };
      if (msg.msg === 'ping') ws.send('{"msg":"pong"}');
      else if (msg.msg === 'result' && msg.id !== undefined) {
        this.waiting.get(msg.id)?.(msg.error === undefined);
        this.waiting.delete(msg.id);
      }
    });
  }

  static open(url: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('error', reject);
      ws.once('open', () => {
        const onMessage = (data: WebSocket.RawData): void => {
          if ((JSON.parse(String(data)) as { msg?: string }).msg !== 'connected') return;
          ws.off('message', onMessage);
          resolve(new Conn(ws));
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
      });
    });
  }

  /** Resolves with whether the call succeeded, when its result arrives. */
  call(method: string, params: unknown[]): Promise<boolean> {
    const id = String(++this.nextId);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ msg: 'method', method, params, id }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Echo calls back to back for `ms`; returns the latencies (ms), sorted. */
async function echoFor(conn: Conn, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const start = performance.now();
    await conn.call('echo', ['x']);
    latencies.push(performance.now() - start);
  }
  return latencies.sort((a, b) => a - b);
}

async function measure(): Promise<void> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  const url = `ws://127.0.0.1:${port}/websocket`;
  const echo = await Conn.open(url);
  const loginConns = await Promise.all(Array.from({ length: RATE }, () => Conn.open(url)));
  const digest = createHash('sha256').update(PASSWORD).digest('hex');
  const login = { user: { username: 'bench' }, password: { digest, algorithm: 'sha-256' } };

  await echoFor(echo, WARMUP_MS);
  const idle = await echoFor(echo, SECONDS * 1000);

  // Open loop: one login every 1000/RATE ms, round-robin over the login connections.
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const loginLatencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const conn = loginConns[sent++ % loginConns.length]!;
    const start = performance.now();
    const p: Promise<void> = conn.call('login', [login]).then((success) => {
      if (success) ok++;
      else failed++;
      loginLatencies.push(performance.now() - start);
      inFlight.delete(p);
    });
    inFlight.add(p);
  }, 1000 / RATE);
  await echoFor(echo, WARMUP_MS);
  const okBefore = ok;
  const windowStart = performance.now();
  const loaded = await echoFor(echo, SECONDS * 1000);
  const completedPerSecond = ((ok - okBefore) * 1000) / (performance.now() - windowStart);
  clearInterval(timer);
  await Promise.all([...inFlight]);
  loginLatencies.sort((a, b) => a - b);

  const row = (name: string, l: number[]): string =>
    `${name.padEnd(28)} n=${String(l.length).padStart(6)}  p50 ${percentile(l, 50).toFixed(3).padStart(8)} ms  p99 ${percentile(l, 99).toFixed(3).padStart(8)} ms`;
  console.log(`echo latency at C=1, ${SECONDS} s each, bcrypt cost 10, ${RATE} logins/s`);
  console.log(row('echo, no logins', idle));
  console.log(row(`echo, ${RATE} logins/s`, loaded));
  console.log(`ratio (with logins / without): p50 ${(percentile(loaded, 50) / percentile(idle, 50)).toFixed(2)}x  p99 ${(percentile(loaded, 99) / percentile(idle, 99)).toFixed(2)}x`);
  console.log(`logins: ${sent} sent, ${ok} ok, ${failed} failed; ${completedPerSecond.toFixed(1)}/s completed while measuring; login p50 ${percentile(loginLatencies, 50).toFixed(1)} ms, p99 ${percentile(loginLatencies, 99).toFixed(1)} ms`);

  echo.close();
  for (const c of loginConns) c.close();
  child.kill('SIGTERM');
}

// Last: the class and functions above must be initialized before either side runs.
if (args.includes('--server')) await serve();
else await measure();
