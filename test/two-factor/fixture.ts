/**
 * One real server per test for the two-factor suite: SQLite in memory (or a file), a manual
 * clock, bcrypt cost 4, mail through a real SMTP sink on loopback, and a few application
 * methods with each kind of `twoFactor` option. Helpers log users in and enrol TOTP over the
 * wire, the way a client would.
 */
import { createServer, ManualClock, silentLogger, type GuardServer, type ServerOptions } from '../../server/index.js';
import type { Services } from '../../server/services/services.js';
import type { UserRecord } from '../../server/storage/contract.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { sha256Hex } from '../../server/security/crypto.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { SmtpSink, type SinkMessage } from '../helpers/smtp-sink.js';
import { closeAllClients, TestClient, type ClientOptions, type Msg } from './client.js';

/** 2031-01-01T00:00:00Z: the start of a TOTP step. */
export const T0 = Date.UTC(2031, 0, 1);
export const STEP_MS = 30_000;

export interface Echo {
  count: number;
  args: unknown[];
}

export interface Session {
  client: TestClient;
  userId: string;
  token: string;
}

export interface Fixture {
  server: GuardServer;
  clock: ManualClock;
  sink: SmtpSink;
  services: Services;
  url: string;
  /** A user with password `pw-<name>` and, unless told otherwise, a verified `<name>@example.com`. */
  user(name: string, options?: { email?: string | null; verified?: boolean }): Promise<UserRecord>;
  connect(options?: ClientOptions): Promise<TestClient>;
  /** Log in with the password on a new connection (no second factor asked or given). */
  login(name: string, options?: ClientOptions): Promise<Session>;
  /** Log in on a new connection, answering the TOTP challenge with the current code. */
  loginWithTotp(name: string, secret: string, options?: ClientOptions): Promise<Session>;
  /**
   * `2fa:enable` then `2fa:validateTempToken` on `client`, at the current time. Enabling asks
   * for the user's existing factor: `answer`, by default the password of the user `client`
   * logged in as (the fallback of a user with no factor yet).
   */
  enrolTotp(client: TestClient, answer?: { twoFactorCode: string; twoFactorMethod: string }): Promise<{ secret: string; codes: string[] }>;
  /** Move the clock to the next TOTP step and return the code shown there. */
  nextTotp(secret: string): string;
  /** The code for `secret` at the current time. */
  totpNow(secret: string): string;
  /** A six-digit code that is valid in none of the accepted steps around now. */
  wrongTotp(secret: string): string;
  /** The 2FA mails received so far for `address`. */
  mailsTo(address: string): SinkMessage[];
  /** Wait for the n-th (1-based) 2FA mail to `address` and return its code. */
  emailCode(address: string, nth?: number): Promise<string>;
}

export function passwordOf(name: string): string {
  return `pw-${name}`;
}

/** The login argument Meteor's client sends for a username and password. */
export function passwordLogin(name: string): Msg {
  return { user: { username: name }, password: { digest: sha256Hex(passwordOf(name)), algorithm: 'sha-256' } };
}

/** The password-fallback answer: the sha-256 hex digest of the password. */
export function passwordAnswer(name: string): { twoFactorCode: string; twoFactorMethod: string } {
  return { twoFactorCode: sha256Hex(passwordOf(name)), twoFactorMethod: 'password' };
}

export function totpAnswer(code: string): { twoFactorCode: string; twoFactorMethod: string } {
  return { twoFactorCode: code, twoFactorMethod: 'totp' };
}

const fixtures = new Set<Fixture>();

/** The user each client logged in as through the fixture (for the enrolment's password). */
const loggedInAs = new WeakMap<TestClient, string>();

/** Application methods with each kind of guard. */
function installAppMethods(server: GuardServer): void {
  server.methods({
    'app.echo': {
      twoFactor: true,
      handler(...args: unknown[]): Echo {
        // `arguments`, not the rest array: proves what the handler was really called with.
        // eslint-disable-next-line prefer-rest-params
        return { count: arguments.length, args };
      },
    },
    'app.always': { twoFactor: { disableRememberMe: true }, handler: () => 'always' },
    'app.strict': { twoFactor: { requireSecondFactor: true }, handler: () => 'strict' },
    'app.noFallback': { twoFactor: { disablePasswordFallback: true }, handler: () => 'no-fallback' },
    'app.nested': {
      twoFactor: true,
      async handler() {
        return this.call('app.echo', 'inner');
      },
    },
    'app.open': () => 'open',
  });
}

/** Start a server with a manual clock at {@link T0} and an SMTP sink; stopped by {@link stopFixtures}. */
export async function startFixture(options: ServerOptions = {}): Promise<Fixture> {
  const clock = new ManualClock(T0);
  const sink = new SmtpSink();
  const { url: smtpUrl } = await sink.start();
  const server = createServer({
    logger: silentLogger,
    db: ':memory:',
    secret: '7a'.repeat(32),
    smtpUrl,
    bcryptCost: 4,
    passwordWorkers: 1,
    // Tests here send parallel password checks on purpose; on a loaded machine the queue's time
    // bound would refuse some (admission control has its own tests: login-admission.test.ts).
    passwordQueueMs: 60_000,
    accountsRateLimitCount: 10_000,
    clock,
    ...options,
    port: 0,
    host: '127.0.0.1',
  });
  installAppMethods(server);
  try {
    await server.listen();
  } catch (err) {
    await sink.stop();
    throw err;
  }
  const services = await server.services.get();
  const url = server.url;

  const fx: Fixture = {
    server, clock, sink, services, url,
    async user(name, opts = {}) {
      const email = opts.email === undefined ? `${name}@example.com` : opts.email;
      return createUserRecord({ store: services.store, hasher: services.hasher, clock }, {
        username: name,
        password: passwordOf(name),
        ...(email === null ? {} : { email, verified: opts.verified ?? true }),
      });
    },
    connect: (opts) => TestClient.connect(url, opts),
    async login(name, opts) {
      const client = await TestClient.connect(url, opts);
      const result = (await client.ok('login', passwordLogin(name))) as Msg;
      loggedInAs.set(client, name);
      return { client, userId: result.id as string, token: result.token as string };
    },
    async loginWithTotp(name, secret, opts) {
      const client = await TestClient.connect(url, opts);
      const result = (await client.ok('login', { totp: { login: passwordLogin(name), code: fx.nextTotp(secret) } })) as Msg;
      loggedInAs.set(client, name);
      return { client, userId: result.id as string, token: result.token as string };
    },
    async enrolTotp(client, answer) {
      const name = loggedInAs.get(client);
      const proof = answer ?? (name === undefined ? undefined : passwordAnswer(name));
      if (proof === undefined) throw new Error('enrolTotp: log the client in with fx.login, or pass the answer to 2fa:enable');
      const { secret } = (await client.ok('2fa:enable', proof)) as { secret: string };
      const { codes } = (await client.ok('2fa:validateTempToken', fx.totpNow(secret))) as { codes: string[] };
      return { secret, codes };
    },
    nextTotp(secret) {
      clock.advance(STEP_MS);
      return generateTotpCode(secret, clock.now());
    },
    totpNow: (secret) => generateTotpCode(secret, clock.now()),
    wrongTotp(secret) {
      const valid = new Set([-1, 0, 1].map((d) => generateTotpCode(secret, clock.now() + d * STEP_MS)));
      for (let i = 0; ; i++) {
        const candidate = String(i * 111_111 % 1_000_000).padStart(6, '0');
        if (!valid.has(candidate)) return candidate;
      }
    },
    mailsTo: (address) => sink.messages.filter((m) => m.to.includes(address) && /verification code/i.test(m.subject)),
    async emailCode(address, nth = 1) {
      const deadline = Date.now() + 3000;
      while (fx.mailsTo(address).length < nth) {
        if (Date.now() > deadline) throw new Error(`no mail #${nth} to ${address} (got ${fx.mailsTo(address).length})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const mail = fx.mailsTo(address)[nth - 1]!;
      const code = /([0-9]{6})/.exec(mail.subject)?.[1];
      if (code === undefined) throw new Error(`no code in the subject '${mail.subject}'`);
      return code;
    },
  };
  fixtures.add(fx);
  return fx;
}

/** Close every client and fixture (call in `afterEach`). */
export async function stopFixtures(): Promise<void> {
  closeAllClients();
  const all = [...fixtures];
  fixtures.clear();
  for (const fx of all) {
    await fx.server.close();
    await fx.sink.stop();
  }
}

let controls = 0;

/**
 * A positive signal that every mail the calls already answered on `via` would have sent has
 * reached the sink: asks, on the same connection, for an email code for a fresh control user
 * and waits for that mail. The server runs one connection's methods in order and a method
 * that mails awaits the SMTP server's acceptance before it answers, so any earlier mail is in
 * `fx.sink.messages` by then. Use it before asserting that a call sent nothing.
 */
export async function mailsDelivered(fx: Fixture, via: TestClient): Promise<void> {
  const name = `control${++controls}`;
  const user = await fx.user(name);
  await fx.services.store.twoFactor.setEmailEnabled(user.id, true);
  await via.ok('2fa:sendEmailCode', name);
  await fx.sink.waitFor((m) => m.to.includes(`${name}@example.com`));
}
