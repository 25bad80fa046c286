/**
 * Start real servers on port 0 for tests, and close every one of them after each test.
 * Logs are discarded unless a test passes its own logger (see {@link captureLogger}). Nothing
 * touches the disk: an in-memory store, a fixed secret, and an outbox under the OS temp folder.
 */
import os from 'node:os';
import path from 'node:path';
import { createServer, silentLogger, type DdpServer, type GuardServer, type Logger, type LogLevel, type ServerOptions } from '../../server/index.js';

const started = new Set<DdpServer>();

/** Options every test server gets unless the test overrides them. */
export const TEST_SERVER_DEFAULTS: ServerOptions = Object.freeze({
  logger: silentLogger,
  db: 'memory',
  secret: '5e'.repeat(32),
  outboxDir: path.join(os.tmpdir(), 'ddp-guard-test-outbox'),
  bcryptCost: 4,
  passwordWorkers: 1,
  // Parallel password checks must not be refused by the queue's time bound on a loaded machine;
  // admission control has its own tests (test/accounts/login-admission.test.ts).
  passwordQueueMs: 60_000,
});

/**
 * A listening server on 127.0.0.1, port 0. `setup` registers methods and publications before
 * `listen()`; the server is closed by {@link stopServers}.
 */
export async function startServer(options: ServerOptions = {}, setup?: (server: GuardServer) => void | Promise<void>): Promise<GuardServer> {
  const server = createServer({ ...TEST_SERVER_DEFAULTS, ...options, port: 0, host: '127.0.0.1' });
  started.add(server);
  if (setup) await setup(server);
  await server.listen();
  return server;
}

/** Close every server started by {@link startServer} (call in `afterEach`). */
export async function stopServers(): Promise<void> {
  const servers = [...started];
  started.clear();
  await Promise.all(servers.map((s) => s.close()));
}

/** One captured log line. */
export interface LogLine {
  level: Exclude<LogLevel, 'silent'>;
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps every line, and lets a test await one. */
export interface CapturedLogger {
  logger: Logger;
  lines: LogLine[];
  /** The first line (already logged or still to come) that matches. */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export function captureLogger(): CapturedLogger {
  const lines: LogLine[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const log = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string): void => {
    const line = { level, fields, message };
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.predicate(line)) waiters.splice(i, 1)[0]!.resolve(line);
    }
  };
  return {
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    lines,
    waitFor(predicate, timeoutMs = 2000) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (line: LogLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching log line within ${timeoutMs} ms; got: ${JSON.stringify(lines.map((l) => l.message))}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}

/** A promise with its resolve function outside: lets a test hold a method until it says so. */
export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Resolves when the next connected session of `server` ends (its socket closed on the server side). */
export function nextSessionEnd(server: DdpServer): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    server.onSession('ended', () => {
      if (done) return;
      done = true;
      resolve();
    });
  });
}
