/**
 * Shared set-up of the HTTP API tests: a real server on port 0 (SQLite in memory, a manual
 * clock, an SMTP sink for mail), the test methods, users made with the admin functions, and
 * small helpers that speak the REST shapes with Node's `fetch`.
 */
import { createHash } from 'node:crypto';
import { createServer, ManualClock, silentLogger, type GuardServer, type ServerOptions } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { generateTotpCode, totpStep } from '../../server/two-factor/totp.js';
import { decode, encode } from '../../protocol/ejson.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

/** 2031-01-01T00:00:00Z: a TOTP step boundary, so each `advance(30_000)` is one new step. */
export const START = Date.UTC(2031, 0, 1);
export const PASSWORD = 'correct horse battery staple';
export const UA = 'ddp-guard-http-tests/1.0';

/** A running server with what the tests drive it with. */
export interface HttpEnv {
  server: GuardServer;
  /** `http://127.0.0.1:<port>` */
  base: string;
  clock: ManualClock;
  sink: SmtpSink;
  stop(): Promise<void>;
}

/** The test methods: an echo, a guarded `rooms.delete`, one that requires a second factor, `whoami`. */
function registerTestMethods(server: GuardServer): void {
  server.methods({
    echo(...params: unknown[]) {
      const first = params[0];
      return { params, firstIsDate: first instanceof Date, at: new Date(Date.UTC(2020, 1, 29, 12, 0, 0)) };
    },
    whoami: {
      requireUser: true,
      handler() {
        return this.userId;
      },
    },
    'rooms.delete': {
      requireUser: true,
      twoFactor: true,
      handler(roomId: string) {
        return { deleted: roomId, params: arguments.length };
      },
    },
    'vault.open': {
      requireUser: true,
      twoFactor: { requireSecondFactor: true },
      handler() {
        return 'opened';
      },
    },
  });
}

/**
 * Start a server for one test. The accounts rate limit is raised (so tests that log in often
 * are not refused) unless the test passes its own `accountsRateLimitCount`.
 */
export async function startHttpServer(options: ServerOptions = {}): Promise<HttpEnv> {
  const sink = new SmtpSink();
  const { url: smtpUrl } = await sink.start();
  const clock = new ManualClock(START);
  const server = createServer({
    port: 0,
    host: '127.0.0.1',
    db: ':memory:',
    logger: silentLogger,
    bcryptCost: 4,
    passwordWorkers: 1,
    smtpUrl,
    clock,
    accountsRateLimitCount: 1000,
    ...options,
  });
  registerTestMethods(server);
  try {
    const address = await server.listen();
    return {
      server,
      base: `http://127.0.0.1:${address.port}`,
      clock,
      sink,
      async stop() {
        await server.close();
        await sink.stop();
      },
    };
  } catch (err) {
    await server.close().catch(() => undefined);
    await sink.stop();
    throw err;
  }
}

/** A user made directly in the store (no HTTP). */
export async function createUser(env: HttpEnv, username: string, options: { email?: string; verified?: boolean; password?: string } = {}): Promise<string> {
  const { store, hasher, clock } = await env.server.services.get();
  const user = await createUserRecord({ store, hasher, clock }, {
    username,
    password: options.password ?? PASSWORD,
    ...(options.email === undefined ? {} : { email: options.email }),
    verified: options.verified ?? true,
  });
  return user.id;
}

export interface Reply {
  status: number;
  /** The parsed JSON body (undefined when the body is not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

/** POST a JSON value (or a raw string) with the test user-agent unless `headers` says otherwise. */
export async function post(env: HttpEnv, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(env.base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** GET with the test user-agent; the reply as {@link post}'s. */
export async function get(env: HttpEnv, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(env.base + path, { headers: { 'user-agent': UA, ...headers } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

export interface Credentials {
  userId: string;
  authToken: string;
}

export function authHeaders(creds: Credentials): Record<string, string> {
  return { 'x-user-id': creds.userId, 'x-auth-token': creds.authToken };
}

/** Log in over HTTP; fails the test unless it succeeds. */
export async function login(env: HttpEnv, user: string, password = PASSWORD, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Credentials> {
  const reply = await post(env, '/api/v1/login', { user, password, ...extra }, headers);
  if (reply.status !== 200) throw new Error(`login of ${user} failed: ${reply.status} ${reply.text}`);
  return reply.json.data as Credentials;
}

/** The body of a method call. */
export function methodBody(method: string, params: unknown[] = [], id = '1'): { message: string } {
  return { message: encode({ msg: 'method', id, method, params }) };
}

/** A method call over HTTP; `result` is the decoded DDP message of a 200 answer. */
export async function callMethod(env: HttpEnv, creds: Credentials | null, method: string, params: unknown[] = [], headers: Record<string, string> = {}): Promise<Reply & { result?: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const path = creds === null ? `/api/v1/method.callAnon/${encodeURIComponent(method)}` : `/api/v1/method.call/${encodeURIComponent(method)}`;
  const reply = await post(env, path, methodBody(method, params), { ...(creds ? authHeaders(creds) : {}), ...headers });
  return reply.status === 200 && typeof reply.json?.message === 'string' ? { ...reply, result: decode(reply.json.message) } : reply;
}

/** Fails the test unless the call returned a result; returns it. */
export async function callOk(env: HttpEnv, creds: Credentials | null, method: string, params: unknown[] = [], headers: Record<string, string> = {}): Promise<unknown> {
  const reply = await callMethod(env, creds, method, params, headers);
  if (reply.status !== 200 || reply.result?.error !== undefined) throw new Error(`${method} failed: ${reply.status} ${reply.text}`);
  return reply.result.result;
}

/** sha-256 hex of the password: the password-fallback "code". */
export function passwordCode(password = PASSWORD): string {
  return createHash('sha256').update(password).digest('hex');
}

/** The backup codes of each secret enrolled by {@link enrollTotp}. */
export const backupCodes = new Map<string, string[]>();

/** Enrol TOTP through `/api/v1/method.call` (`2fa:enable`, then `2fa:validateTempToken`); returns the secret. */
export async function enrollTotp(env: HttpEnv, creds: Credentials): Promise<string> {
  // Adding a factor proves the current one: the password, for a user with none yet.
  const { secret } = (await callOk(env, creds, '2fa:enable', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' })) as { secret: string };
  const { codes } = (await callOk(env, creds, '2fa:validateTempToken', [generateTotpCode(secret, env.clock.now())])) as { codes: string[] };
  backupCodes.set(secret, codes);
  return secret;
}

/** Move to the next TOTP step (codes are single use) and return its code. */
export function nextTotp(env: HttpEnv, secret: string): string {
  env.clock.advance(30_000);
  return generateTotpCode(secret, env.clock.now());
}

/** A six-digit code that is none of the codes accepted now (the window is ±1 step). */
export function wrongTotp(env: HttpEnv, secret: string): string {
  const now = env.clock.now();
  const accepted = new Set([-1, 0, 1].map((d) => generateTotpCode(secret, now + d * 30_000)));
  for (let n = 0; ; n++) {
    const candidate = String((totpStep(now) * 7919 + n * 104_729) % 1_000_000).padStart(6, '0');
    if (!accepted.has(candidate)) return candidate;
  }
}

/** The six-digit code of the latest 2FA mail to `address`. */
export async function emailedCode(env: HttpEnv, address: string, after = 0): Promise<string> {
  const mail = await env.sink.waitFor((m) => m.to.includes(address) && env.sink.messages.indexOf(m) >= after && /verification code/i.test(m.subject));
  const code = /(\d{6})/.exec(mail.subject)?.[1];
  if (!code) throw new Error(`no code in the mail subject: ${mail.subject}`);
  return code;
}
