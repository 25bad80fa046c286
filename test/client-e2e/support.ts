/**
 * Shared pieces of the client end-to-end tests: a real ddp-guard server (accounts, guard,
 * a manual clock), users created the way the CLI creates them, TOTP codes for the server's
 * time, a WebSocket that records what the client sends, and a tracker that closes every
 * client, server, SMTP sink and temp folder after each test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createNodeClient, sha256Hex, type DdpClient, type DdpClientOptions, type MethodMap, type MethodShape, type TwoFactorAnswer, type WebSocketConstructor } from '../../client/node.js';
import { createServer, ManualClock, silentLogger, type GuardServer, type ServerOptions } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import type { UserRecord } from '../../server/storage/contract.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

/** The password of every test user. */
export const PASSWORD = 'correct horse battery staple';
/** What the client sends for it, and what the password fallback wants as a code. */
export const PASSWORD_DIGEST = sha256Hex(PASSWORD);
/** The server's start time: 5 s into a 30-s TOTP step, so a code stays valid within its step. */
export const T0 = Date.UTC(2030, 0, 1, 0, 0, 5);
/** One TOTP step. */
export const STEP_MS = 30_000;
/** A fixed server secret, so a restarted server reads what the first one wrote. */
const SECRET = 'c1'.repeat(32);

// ---- cleanup ----------------------------------------------------------------------------

const clients = new Set<DdpClient<never>>();
const servers = new Set<GuardServer>();
const sinks = new Set<SmtpSink>();
const dirs = new Set<string>();

/** Close every client, server and sink, and remove temp folders (call in `afterEach`). */
export async function cleanup(): Promise<void> {
  for (const client of clients) client.close();
  clients.clear();
  const closing = [...servers].map((s) => s.close());
  servers.clear();
  const stopping = [...sinks].map((s) => s.stop());
  sinks.clear();
  await within(Promise.all([...closing, ...stopping]), 5_000, 'servers and sinks to close');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** A temp folder removed by {@link cleanup}. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-client-e2e-'));
  dirs.add(dir);
  return dir;
}

// ---- waiting ----------------------------------------------------------------------------

/** `promise`, or a rejection naming `what` after `ms`: no await in these tests can hang. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Poll until `condition()` holds; fail naming `what` after `ms`. */
export async function waitUntil(condition: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The rejection of `promise` (bounded); fails if it resolves. */
export async function rejection(promise: Promise<unknown>, what: string, ms = 5_000): Promise<unknown> {
  const outcome = await within(promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), ms, what);
  if (outcome.ok) throw new Error(`Expected ${what} to fail, it resolved with ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

// ---- server -----------------------------------------------------------------------------

/** Options of {@link startGuardServer}. */
export interface GuardServerOptions extends Omit<ServerOptions, 'clock'> {
  clock: ManualClock;
  /** Register methods and publications before `listen()`. */
  setup?: (server: GuardServer) => void;
}

/**
 * A listening ddp-guard server on loopback: in-memory SQLite unless `db` says otherwise, a
 * manual clock, bcrypt cost 4, no trusted-client window (every guarded call asks), and a
 * login rate limit high enough not to interfere. Closed by {@link cleanup}.
 */
export async function startGuardServer(options: GuardServerOptions): Promise<GuardServer> {
  const { setup, ...rest } = options;
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    db: ':memory:',
    logger: silentLogger,
    secret: SECRET,
    bcryptCost: 4,
    passwordWorkers: 1,
    trustedClientMs: 0,
    accountsRateLimitCount: 100,
    shutdownTimeoutMs: 500,
    outboxDir: path.join(os.tmpdir(), 'ddp-guard-client-e2e-outbox'),
    ...rest,
  });
  servers.add(server);
  setup?.(server);
  await within(server.listen(), 5_000, 'the server to listen');
  return server;
}

/** Close one server now (it is also forgotten by {@link cleanup}). */
export async function stopServer(server: GuardServer): Promise<void> {
  servers.delete(server);
  await within(server.close(), 5_000, 'the server to close');
}

/** The port a server listens on. */
export function portOf(server: GuardServer): number {
  const address = server.address();
  if (!address) throw new Error('the server is not listening');
  return address.port;
}

/** A real SMTP server on loopback, stopped by {@link cleanup}. */
export async function startSmtpSink(): Promise<{ sink: SmtpSink; url: string }> {
  const sink = new SmtpSink();
  sinks.add(sink);
  const { url } = await within(sink.start(), 5_000, 'the SMTP sink to listen');
  return { sink, url };
}

/** Create a user with {@link PASSWORD}, as `ddp-guard user add` does. */
export async function addUser(server: GuardServer, username: string, email?: { address: string; verified: boolean }): Promise<UserRecord> {
  const { store, hasher, clock } = await server.services.get();
  return createUserRecord({ store, hasher, clock }, {
    username,
    password: PASSWORD,
    ...(email ? { email: email.address, verified: email.verified } : {}),
  });
}

// ---- client -----------------------------------------------------------------------------

/** Test defaults: quick reconnects, short call timeouts; closed by {@link cleanup}. */
export function newClient<M extends MethodShape<M> = MethodMap>(server: GuardServer | string, options: DdpClientOptions = {}): DdpClient<M> {
  const url = typeof server === 'string' ? server : server.url;
  const client = createNodeClient<M>(url, { minDelayMs: 50, maxDelayMs: 200, callTimeoutMs: 8_000, ...options });
  clients.add(client as unknown as DdpClient<never>);
  return client;
}

/** {@link newClient}, connected (bounded). */
export async function connectClient<M extends MethodShape<M> = MethodMap>(server: GuardServer | string, options: DdpClientOptions = {}): Promise<DdpClient<M>> {
  const client = newClient<M>(server, options);
  await within(client.connect(), 5_000, 'the client to connect');
  return client;
}

/** `ws`, with every text frame the client sends pushed onto `sent`. */
export function recordingWebSocket(sent: string[]): WebSocketConstructor {
  return class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      const send = this.send.bind(this);
      this.send = ((data: string) => {
        sent.push(data);
        send(data);
      }) as WebSocket['send'];
    }
  };
}

/** The `method` frames among recorded frames, decoded as JSON. */
export function sentCalls(sent: readonly string[], method: string): { params: unknown[] }[] {
  return sent
    .map((text) => JSON.parse(text) as { msg?: string; method?: string; params?: unknown[] })
    .filter((m) => m.msg === 'method' && m.method === method)
    .map((m) => ({ params: m.params ?? [] }));
}

// ---- TOTP -------------------------------------------------------------------------------

/** The code an authenticator shows at the server's current time. */
export function totpNow(secret: string, clock: ManualClock): string {
  return generateTotpCode(secret, clock.now());
}

/** A six-digit code that is valid for none of the steps the server accepts now (±1). */
export function wrongTotp(secret: string, clock: ManualClock): string {
  const valid = new Set([-1, 0, 1].map((d) => generateTotpCode(secret, clock.now() + d * STEP_MS)));
  for (let n = 0; ; n += 1) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/**
 * Enrol TOTP for the logged-in user of `client` through `client.account`, then move the clock
 * one step on so the next code is not a replay of the confirming one. Returns the secret and
 * the backup codes.
 */
export async function enrolTotp(
  client: DdpClient,
  clock: ManualClock,
  /** The proof `2fa:enable` asks for (the password of a user with no factor); null: the client's `onTwoFactorRequired` answers. */
  proof: TwoFactorAnswer | null = { code: PASSWORD_DIGEST, method: 'password' },
): Promise<{ secret: string; url: string; backupCodes: string[] }> {
  const { secret, url } = await within(client.account.enableTotp(proof ?? undefined), 5_000, '2fa:enable');
  const backupCodes = await within(client.account.confirmTotp(totpNow(secret, clock)), 5_000, '2fa:validateTempToken');
  clock.advance(STEP_MS);
  return { secret, url, backupCodes };
}

export { ManualClock, sha256Hex };
