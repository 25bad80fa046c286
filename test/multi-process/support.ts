/**
 * Several real `ddp-guard serve` processes on one PostgreSQL schema and one Redis, as a
 * deployment behind a load balancer runs them: the cluster (processes, users made with
 * `ddp-guard user add`, clean-up), DDP helpers for logins and TOTP codes at the real time, a
 * TCP proxy that plays the load balancer, and HTTP calls from a chosen loopback address.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { sha256Hex } from '../../server/security/crypto.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { cleanEnv, runCli, startServe, type ServeProcess } from '../cli/helpers.js';
import { DdpClient, type Msg } from '../helpers/ddp.js';
import { dropSchema, PG_URL, pgProblem } from '../helpers/postgres.js';
import { REDIS_URL } from '../redis/helpers.js';

export { REDIS_URL, redisProblem } from '../redis/helpers.js';
export { PG_URL, pgProblem };

/** The compiled `--app` module. */
const APP = fileURLToPath(new URL('./fixtures/app.js', import.meta.url));

export const passwordOf = (name: string): string => `pw-${name}-${name.length}`;

/** The `login` argument Meteor's client sends for a password. */
export function passwordLogin(name: string): Msg {
  return { user: { username: name }, password: { digest: sha256Hex(passwordOf(name)), algorithm: 'sha-256' } };
}

/** The TOTP code of `secret` `steps` steps of 30 s from now (the server accepts −1…+1). */
export const totpAt = (secret: string, steps = 0): string => generateTotpCode(secret, Date.now() + steps * 30_000);

/** A six-digit code valid in no step the server could accept around now. */
export function wrongTotp(secret: string): string {
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, d)));
  for (let i = 1; ; i++) {
    const candidate = String((i * 123_457) % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** A method's result, or a failure naming its wire error. */
export async function ok(client: DdpClient, method: string, ...params: unknown[]): Promise<unknown> {
  const outcome = await client.call(method, ...params);
  if (outcome.error) throw new Error(`${method} failed: ${JSON.stringify(outcome.error)}`);
  return outcome.result;
}

/** A method's wire error; fails when the call succeeded. */
export async function fails(client: DdpClient, method: string, ...params: unknown[]): Promise<Msg> {
  const outcome = await client.call(method, ...params);
  expect(outcome.error, `${method} was expected to fail, returned ${JSON.stringify(outcome.result)}`).to.not.equal(undefined);
  return outcome.error as Msg;
}

/** A session on one process: the client, the user id and the resume token. */
export interface Login {
  client: DdpClient;
  userId: string;
  token: string;
}

/** Logs in on a new connection to `url` with `argument` (a password login by default). */
export async function login(url: string, name: string, argument: Msg = passwordLogin(name)): Promise<Login> {
  const client = await DdpClient.connect(url);
  const result = (await ok(client, 'login', argument)) as { id: string; token: string };
  return { client, userId: result.id, token: result.token };
}

/**
 * Enrols TOTP on `client`, logged in as `name` with no factor yet (enabling asks for the
 * password); its code of the current step is spent by the enrolment.
 */
export async function enrolTotp(client: DdpClient, name: string): Promise<{ secret: string; codes: string[] }> {
  const { secret } = (await ok(client, '2fa:enable', { twoFactorCode: sha256Hex(passwordOf(name)), twoFactorMethod: 'password' })) as { secret: string };
  const { codes } = (await ok(client, '2fa:validateTempToken', totpAt(secret))) as { codes: string[] };
  return { secret, codes };
}

/** `ws://host:port/websocket` → `http://host:port`. */
export const httpBase = (wsUrl: string): string => wsUrl.replace(/^ws:/, 'http:').replace(/\/websocket$/, '');

/** `POST base+path` with a JSON body, sent from `localAddress` (any 127.x.y.z on Linux). */
export function postJson(base: string, pathname: string, body: unknown, localAddress: string): Promise<{ status: number; body: Msg }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = http.request(`${base}${pathname}`, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as Msg }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** A loopback address no other test run uses, so per-address counters start from zero. */
export function randomLoopback(): string {
  const b = randomBytes(3);
  return `127.${(b[0]! % 250) + 2}.${b[1]!}.${(b[2]! % 250) + 2}`;
}

/** The processes of one test suite, on one fresh schema, with one secret. */
export class Cluster {
  readonly schema = `ddpguard_mp_${randomBytes(6).toString('hex')}`;
  readonly db = `${PG_URL}?schema=${this.schema}`;
  /** The server secret: the same for every process, so B decrypts TOTP secrets A encrypted. */
  readonly secret = randomBytes(32).toString('hex');
  readonly cwd = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-mp-'));
  private readonly processes = new Set<ServeProcess>();

  /** The environment of every process: the secret goes here (never on a command line). */
  env(): NodeJS.ProcessEnv {
    return cleanEnv({ DDP_GUARD_SECRET: this.secret });
  }

  /** Starts `ddp-guard serve` on a free port with the shared database, Redis and app. */
  async start(): Promise<ServeProcess> {
    const proc = await startServe(['--port', '0', '--db', this.db, '--redis', REDIS_URL, '--app', APP, '--log-level', 'warn'], { cwd: this.cwd, env: this.env() });
    this.processes.add(proc);
    return proc;
  }

  /**
   * `ddp-guard user add <name> --verified` on the shared database. A CLI process starts a Node
   * runtime and migrates: with several started at once on a busy 2-core machine one took more
   * than 20 s (seen in a loaded run), hence 60 s.
   */
  async addUser(name: string): Promise<void> {
    const result = await runCli(['user', 'add', name, '--email', `${name}@example.com`, '--password', passwordOf(name), '--verified', '--db', this.db], { cwd: this.cwd, env: this.env(), timeoutMs: 60_000 });
    expect(result.code, `user add ${name}: ${result.stderr}`).to.equal(0);
    expect(result.stdout).to.match(new RegExp(`Created user ${name} `));
  }

  /** Runs `ddp-guard <args> --db <the shared database>` to completion; fails the test unless it exits 0. */
  async cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
    const result = await runCli([...args, '--db', this.db], { cwd: this.cwd, env: this.env(), timeoutMs: 60_000 });
    expect(result.code, `ddp-guard ${args.join(' ')}: ${result.stderr}`).to.equal(0);
    return result;
  }

  /** Kills a process at once (SIGKILL) and waits until it is gone. */
  async kill(proc: ServeProcess): Promise<void> {
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.processes.delete(proc);
  }

  /** Stops every process (SIGTERM, then SIGKILL), drops the schema, removes the folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes].map(async (proc) => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
      await proc.exited;
      clearTimeout(timer);
    }));
    this.processes.clear();
    await dropSchema(this.schema);
    rmSync(this.cwd, { recursive: true, force: true });
  }
}

/** A TCP proxy on 127.0.0.1 that forwards to one port, switchable: a load balancer in miniature. */
export class SwitchingProxy {
  private readonly server = net.createServer((socket) => this.forward(socket));
  private readonly sockets = new Set<net.Socket>();

  constructor(private target: number) {}

  /** Listens on a free port; returns the ws:// URL of the DDP endpoint through the proxy. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/websocket`;
  }

  /** New connections go to `port` from now on. */
  switchTo(port: number): void {
    this.target = port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** The port of a `ws://host:port/...` URL. */
export const portOf = (url: string): number => Number(new URL(url).port);
