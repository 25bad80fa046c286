/**
 * The parts of the failover test: a Redis and an HAProxy of the test's own on loopback ports,
 * the HAProxy configuration taken from docs/operations.md (so the page is what runs), free
 * ports, and a load loop that counts what each client sent and what was acknowledged.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const OPERATIONS_MD = fileURLToPath(new URL('../../../docs/operations.md', import.meta.url));

/** Where HAProxy is installed (Debian's package), or null. */
export function haproxyPath(): string | null {
  for (const p of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(p)) return p;
  return null;
}

/** Where redis-server is installed, or null. */
export function redisServerPath(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' ? which.stdout.trim() : null;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once `pattern` appears in the child's output. */
function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), ms);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

/** A Redis of the test's own: no persistence, on `port`. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(redisServerPath() ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'pipe' });
  await waitForOutput(child, /Ready to accept connections/, 'redis-server');
  return child;
}

/** Kills a child with SIGKILL and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** The `haproxy` block of docs/operations.md, with its ports replaced by the test's. */
export function haproxyConfig(frontend: number, backends: readonly number[]): string {
  const page = readFileSync(OPERATIONS_MD, 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(page)?.[1];
  if (!block) throw new Error('docs/operations.md has no ```haproxy block');
  let config = block.replace('bind 127.0.0.1:8080', `bind 127.0.0.1:${frontend}`);
  backends.forEach((port, i) => {
    config = config.replace(`127.0.0.1:${3001 + i}`, `127.0.0.1:${port}`);
  });
  if (config.includes(':8080') || /:300[1-3]\b/.test(config)) throw new Error('a port of the documented configuration was not replaced');
  return config;
}

/** HAProxy in the foreground with `config`; resolves once it passes a request to a ready process. */
export async function startHaproxy(binary: string, config: string, file: string, frontend: number): Promise<ChildProcess> {
  writeFileSync(file, config);
  const check = spawnSync(binary, ['-c', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refuses the documented configuration: ${check.stdout}${check.stderr}`);
  const child = spawn(binary, ['-db', '-f', file], { stdio: 'pipe' });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}`);
    if ((await httpGet(`http://127.0.0.1:${frontend}/readyz`)) === 200) return child;
    await sleep(200);
  }
  throw new Error('haproxy did not pass a request to a ready process in 15 s');
}

/** The status of `GET url` (0 when the connection fails), within 3 s. */
export function httpGet(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one client of the load did. */
export interface LoadStats {
  readonly name: string;
  /** Call ids whose result arrived. */
  readonly acked: Set<string>;
  /** Call ids that failed, with the error code. */
  readonly failed: Map<string, string>;
  /** When each acknowledgement arrived (performance.now()). */
  readonly ackTimes: number[];
  /** The longest a failed call took, in ms. */
  slowestFailureMs: number;
}

/**
 * Calls `append(callId)` again and again, one at a time, until `stop()`: each id is new, so each
 * acknowledged call must have exactly one row.
 */
export function runLoad(name: string, append: (callId: string) => Promise<unknown>, pauseMs = 20): { stats: LoadStats; stop: () => Promise<void> } {
  const stats: LoadStats = { name, acked: new Set(), failed: new Map(), ackTimes: [], slowestFailureMs: 0 };
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const callId = `${name}-${++n}`;
      const started = performance.now();
      try {
        await append(callId);
        stats.acked.add(callId);
        stats.ackTimes.push(performance.now());
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'error' in err ? String((err as { error: unknown }).error) : String(err);
        stats.failed.set(callId, code);
        stats.slowestFailureMs = Math.max(stats.slowestFailureMs, performance.now() - started);
        await sleep(100);
      }
      await sleep(pauseMs);
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Ms from `since` until every client was acknowledged again (null while one was not). */
export function recoveryMs(all: readonly LoadStats[], since: number): number | null {
  let worst = 0;
  for (const s of all) {
    const first = s.ackTimes.find((t) => t > since);
    if (first === undefined) return null;
    worst = Math.max(worst, first - since);
  }
  return worst;
}
