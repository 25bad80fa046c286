/**
 * Shared pieces of the tests of `ddp-guard call`, `shell`, `script` and `audit`: a real
 * ddp-guard server in this process (a SQLite file in a temp folder, test methods `echo` and a
 * guarded `rooms.delete`, a `rooms` publication), users created as `ddp-guard user add` does,
 * and the built CLI run in child processes — piped, or in a pseudo-terminal through
 * util-linux `script`. Every child is tracked so `after` hooks can kill what is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connectNode, sha256Hex } from '../../client/node.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import type { CliIo } from '../../cli/io.js';
import { runCli as runProgram } from '../../cli/program.js';
import { createServer, silentLogger, type GuardServer } from '../../server/index.js';
import type { UserRecord } from '../../server/storage/contract.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { closedPort } from '../helpers/ports.js';
export { closedPort };

/** dist/cli/main.js, next to this compiled test. */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** The password of every test user, and what the password fallback wants as its code. */
export const PASSWORD = 'correct horse battery staple';
export const PASSWORD_DIGEST = sha256Hex(PASSWORD);
const STEP_MS = 30_000;

// ---- waiting ----------------------------------------------------------------------------

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---- the server -------------------------------------------------------------------------

/** A listening server and where its database lives. */
export interface TestServer {
  server: GuardServer;
  /** ws://127.0.0.1:PORT/websocket */
  url: string;
  port: number;
  /** The SQLite file, for `audit --db`. */
  db: string;
  close(): Promise<void>;
}

/**
 * A ddp-guard server on loopback with a SQLite file in a fresh temp folder. Methods: `echo`
 * (returns its parameters), `rooms.delete` (guarded by 2FA); publication `rooms` (one
 * document, then ready).
 */
export async function startTestServer(): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-cli-client-'));
  const db = path.join(dir, 'test.sqlite');
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    db,
    logger: silentLogger,
    bcryptCost: 4,
    passwordWorkers: 1,
    outboxDir: path.join(dir, 'outbox'),
    shutdownTimeoutMs: 500,
  });
  server.methods({
    echo(...params: unknown[]) {
      return params;
    },
    'rooms.delete': {
      twoFactor: true,
      handler(roomId: unknown) {
        return { deleted: roomId };
      },
    },
  });
  server.publish('rooms', function () {
    this.added('rooms', 'general', { name: 'General' });
    this.ready();
  });
  await within(server.listen(), 5_000, 'the server to listen');
  const address = server.address();
  if (!address) throw new Error('the server is not listening');
  return {
    server,
    url: `ws://127.0.0.1:${address.port}/websocket`,
    port: address.port,
    db,
    close: async () => {
      await within(server.close(), 5_000, 'the server to close');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a user with {@link PASSWORD}, as `ddp-guard user add` does. */
export async function addUser(server: GuardServer, username: string): Promise<UserRecord> {
  const { store, hasher, clock } = await server.services.get();
  return createUserRecord({ store, hasher, clock }, { username, email: `${username}@example.com`, password: PASSWORD, verified: true });
}

/**
 * Enrols TOTP for `username` through the client (`2fa:enable`, `2fa:validateTempToken`) and
 * returns the secret. The confirming code is the previous step's (accepted as drift), so the
 * current step is still unused when the test goes on: the server accepts each step once.
 */
export async function enrolTotp(url: string, username: string): Promise<string> {
  const client = await within(connectNode(url, { reconnect: false }), 5_000, 'the client to connect');
  try {
    await within(client.loginWithPassword(username, PASSWORD), 5_000, 'the login');
    const { secret } = await within(client.account.enableTotp({ code: PASSWORD_DIGEST, method: 'password' }), 5_000, '2fa:enable');
    await within(client.account.confirmTotp(generateTotpCode(secret, Date.now() - STEP_MS)), 5_000, '2fa:validateTempToken');
    return secret;
  } finally {
    client.close();
  }
}

/** A temp file with `text`, removed with its folder by {@link removeTempFiles}. */
export function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-transcript-'));
  tempDirs.add(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const tempDirs = new Set<string>();

/** Removes the folders of {@link tempFile}. */
export function removeTempFiles(): void {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// ---- the CLI ----------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** Kills every child still running (for `after` hooks). */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** The environment without DDP_GUARD_ variables (a developer's settings must not leak in). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('DDP_GUARD_')) env[key] = value;
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ddp-guard <args>` with piped stdio to its end; fails after `timeoutMs`. */
export function runCli(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: 'pipe' });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ddp-guard ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `ddp-guard <args>` inside this process (no child: quick), with output captured and a
 * standard input that is not a terminal. For commands that end on their own: usage errors,
 * `audit`.
 */
export async function runInProcess(args: readonly string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
  const io: CliIo = {
    env: cleanEnv(),
    cwd: process.cwd(),
    out: (line) => void out.push(line),
    err: (line) => void err.push(line),
    ask: (text) => void err.push(text),
    stdin,
    exit: (code) => {
      throw new Error(`the command tried to exit the process with ${code}`);
    },
    onSignal: () => {},
  };
  const code = await within(runProgram(['node', 'ddp-guard', ...args], io), 10_000, `ddp-guard ${args.join(' ')}`);
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');
  return { code, stdout: text(out), stderr: text(err) };
}

/** Whether util-linux `script` can run a command in a pseudo-terminal here. */
export function hasScriptPty(): boolean {
  const probe = spawnSync('script', ['-qfec', 'test -t 0', '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'], timeout: 5_000 });
  return probe.status === 0;
}

/** A CLI run in a pseudo-terminal: read its screen, type into it. */
export interface TerminalRun {
  /** Everything written to the terminal so far (stdout and stderr, and the echo of typing). */
  output(): string;
  /** Resolves with the output once `pattern` appears in it; fails after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Types `text`. */
  type(text: string): void;
  /** The exit status (script -e passes the command's on). */
  exited: Promise<number | null>;
}

/** Starts `ddp-guard <args>` in a pseudo-terminal with `script -qfec`. */
export function runInTerminal(args: readonly string[]): TerminalRun {
  const command = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...cleanEnv(), TERM: 'dumb' }, stdio: 'pipe' });
  children.add(child);
  let output = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    output += d;
    for (const listener of listeners) listener();
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => output,
    waitFor(pattern, timeoutMs = 8_000) {
      return new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(output)) return;
          finish();
          resolve(output);
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${pattern} in the terminal; it shows: ${JSON.stringify(output)}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    type(text) {
      child.stdin.write(text);
    },
    exited,
  };
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
