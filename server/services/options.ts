/**
 * Every option of ddp-guard with its default, in one frozen object, validated when the server is
 * created (not at first use). The options table of docs/options.md is checked against `DEFAULTS` by a test.
 */
import type { Logger } from '../runtime/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Store } from '../storage/contract.js';
import type { Mailer } from '../mail/mailer.js';

const MiB = 1024 * 1024;

/** The defaults. Each field is documented with its unit. */
export const DEFAULTS = Object.freeze({
  /** TCP port; 0 picks a free one. @default 3000 */
  port: 3000,
  /** Interface to bind. @default '127.0.0.1' */
  host: '127.0.0.1',
  /** Largest accepted WebSocket frame, in bytes; larger closes with 1009. @default 1 MiB */
  maxFrameBytes: 1 * MiB,
  /** Output buffered for a client that does not read, in bytes, before it is closed with 4002. @default 4 MiB */
  maxBufferedBytes: 4 * MiB,
  /** A socket that sends no `connect` within this time is closed with 4000. @default 45 s */
  handshakeTimeoutMs: 45_000,
  /** Heartbeat interval: the server pings a client that sent nothing during a whole interval (Meteor's rule). @default 15 s (Meteor's) */
  heartbeatIntervalMs: 15_000,
  /** Silence after a server ping before the socket is closed with 4001. @default 15 s (Meteor's) */
  heartbeatTimeoutMs: 15_000,
  /** Methods queued or running on one connection; more get `too-many-methods`. @default 100 */
  maxMethodsInFlight: 100,
  /** Live subscriptions on one connection; more get `too-many-subscriptions`. @default 500 */
  maxSubscriptions: 500,
  /** Open connections from one client address; more are closed with 1013. 0 = no limit. @default 0 */
  maxConnectionsPerAddress: 0,
  /** permessage-deflate (Meteor 3.1's settings when on: 1 KiB threshold, fastest level, no context takeover). @default false */
  perMessageDeflate: false,
  /** Proxies in front of the server whose `X-Forwarded-For` entries are trusted (Meteor's `HTTP_FORWARDED_COUNT`). @default 0 */
  httpForwardedCount: 0,
  /** Browser origins allowed to connect; `null` allows every origin (and clients without one). @default null */
  allowedOrigins: null as readonly string[] | null,
  /** Serve SockJS's WebSocket transport for Meteor browser clients. @default true */
  sockjs: true,
  /** Longest a graceful `close()` waits for in-flight methods before closing sockets with 1001. @default 10 s */
  shutdownTimeoutMs: 10_000,
  /** Largest HTTP request body, in bytes. @default 1 MiB */
  maxBodyBytes: 1 * MiB,
  /** Serve the account-security page at `/account/` (sign in, authenticator app, email codes, tokens), and register its guarded demo method `demo.guarded`. @default true */
  accountPage: true,

  // ---- storage, secrets, mail ----
  /** The database: a SQLite file, `:memory:`, `memory` (in-process store) or a `postgres://` URL. @default './data/ddp-guard.sqlite' */
  db: './data/ddp-guard.sqlite',
  /** The server secret (≥ 32 bytes as hex or base64); `null` reads or creates `<db folder>/ddp-guard.secret` (mode 0600), or an ephemeral one for in-memory databases. @default null */
  secret: null as string | null,
  /** SMTP URL (`smtp://user:pass@host:587`, `smtps://...`); `null` writes mail to `outboxDir`. @default null */
  smtpUrl: null as string | null,
  /** Sender of every mail. @default 'ddp-guard <no-reply@localhost>' */
  mailFrom: 'ddp-guard <no-reply@localhost>',
  /** Folder of `.eml` files used when no SMTP server is configured. @default './data/outbox' */
  outboxDir: './data/outbox',
  /** Base URL put in verification and reset mails; `null` uses the token alone. @default null */
  publicUrl: null as string | null,
  /** Redis URL (`redis://host:6379`, `rediss://...`) shared by several processes on one PostgreSQL database: rate-limit counters, user-document changes and stream events go through it; `null` keeps them in this process. @default null */
  redisUrl: null as string | null,

  // ---- accounts ----
  /** Allow anyone to create an account with the `createUser` method. @default false */
  signup: false,
  /** Lifetime of a login (resume) token, in ms; 0 = never expires. @default 90 days (Meteor's) */
  loginTokenLifetimeMs: 90 * 24 * 3600 * 1000,
  /** Lifetime of a password-reset token, in ms. @default 1 hour */
  resetTokenLifetimeMs: 3600 * 1000,
  /** Lifetime of an email-verification token, in ms. @default 7 days */
  verifyTokenLifetimeMs: 7 * 24 * 3600 * 1000,
  /** bcrypt cost factor. @default 10 */
  bcryptCost: 10,
  /** bcrypt worker threads; 0 = one per core but one (of the cores this process may run on), at least one, so the event loop keeps a core. @default 0 */
  passwordWorkers: 0,
  /** Password checks (logins, the password fallback, password changes) allowed to wait for a bcrypt worker; past that they are refused at once with `too-many-requests`. @default 100 */
  passwordQueueMax: 100,
  /** Longest wait of a password check for a bcrypt worker, in ms: a check whose estimated wait is over half of it is refused at once with `too-many-requests` and `details.timeToReset`, and one still waiting after this long is refused then. @default 1000 */
  passwordQueueMs: 1000,
  /** Shortest new password, in characters (`createUser`, `changePassword`, `resetPassword`, `ddp-guard user add` and `passwd`); applies to passwords sent in plain text, not to sha-256 digests. @default 8 */
  passwordMinLength: 8,
  /** Refuse new passwords that are among the 10 000 most common ones (also when only their sha-256 digest is sent). @default true */
  refuseCommonPasswords: true,
  /** Calls of `login`, `createUser`, `forgotPassword`, `resetPassword` and 2FA code requests allowed per connection per window. @default 5 (Meteor's accounts rule) */
  accountsRateLimitCount: 5,
  /** The window of that rule, in ms. @default 10 s */
  accountsRateLimitWindowMs: 10_000,

  // ---- two-factor ----
  /** How long a client stays trusted after a successful check, in ms; 0 turns trust off. @default 300 s */
  trustedClientMs: 300_000,
  /** TOTP steps accepted on each side of the current one. @default 1 */
  totpWindow: 1,
  /** Issuer shown by authenticator apps. @default 'ddp-guard' */
  totpIssuer: 'ddp-guard',
  /** Lifetime of an emailed 2FA code, in ms. @default 600 s */
  emailCodeLifetimeMs: 600_000,
  /** Wrong codes per user per factor that lock it; each further wrong code, until forgiven, locks again for twice as long. @default 5 */
  maxFailedAttempts: 5,
  /** First lock-out, in ms, of a factor and of passwords. @default 60 s */
  lockoutBaseMs: 60_000,
  /** Longest lock-out of a factor, in ms. @default 48 hours */
  lockoutMaxMs: 48 * 3600 * 1000,
  /** One wrong code of a factor is forgiven per this time, in ms; a success forgives nothing. @default 48 hours */
  lockoutDecayMs: 48 * 3600 * 1000,
  /** Wrong passwords for one account from addresses it has not signed in from (and from each address it has) that lock password checks there. @default 10 */
  passwordMaxFailures: 10,
  /** Longest password lock-out, in ms. @default 1 hour */
  passwordLockoutMaxMs: 3600 * 1000,
  /** One wrong password is forgiven per this time, in ms. @default 1 hour */
  passwordLockoutDecayMs: 3600 * 1000,
  /** Wrong passwords from one client address, for any accounts, that lock password checks from it. @default 50 */
  addressMaxFailures: 50,
  /** One wrong password from an address is forgiven per this time, in ms. @default 60 s */
  addressLockoutDecayMs: 60_000,
  /** How long an address stays known to an account after a right password from it, in ms. @default 30 days */
  knownAddressMs: 30 * 24 * 3600 * 1000,
  /** How often a process reads the store's feed of revoked tokens to end the connections that used them (other processes, admin commands), in ms. @default 500 ms */
  revocationPollMs: 500,
  /** How long the outcome of a method call with a `randomSeed` is kept, in ms, so that the same call re-sent by its user (after a reconnect) is answered with it instead of running again; 0 turns this off. @default 5 min */
  callResultWindowMs: 300_000,
  /** How long a re-sent call waits for its first attempt, still running (or gone with its process), before failing with 504, in ms. @default 30 s */
  callResultWaitMs: 30_000,
  /** The WebAuthn relying-party id passkeys are bound to (a domain); `null` takes the host name of `publicUrl`, else `localhost`. @default null */
  webauthnRpId: null as string | null,
  /** Browser origins passkey answers are accepted from; `null` takes the origin of `publicUrl`, else `http(s)://localhost` on any port. @default null */
  webauthnOrigins: null as readonly string[] | null,
  /** Backup codes issued at enrolment. @default 12 */
  backupCodeCount: 12,
  /** Characters per backup code. @default 10 */
  backupCodeLength: 10,

  // ---- observability ----
  /** Serve Prometheus metrics at `/metrics`. @default true */
  metrics: true,
  /** Port of a separate listener (on `host`) for `/metrics`, `/healthz` and `/readyz`; 0 serves `/metrics` on the main port. @default 0 */
  metricsPort: 0,
  /** Serve `/healthz` (the process is up) and `/readyz` (the store answers; SMTP, when configured, too). @default true */
  healthChecks: true,
});

type Widen<T> = T extends number ? number : T extends string ? string : T extends boolean ? boolean : T;

/** The option types (the defaults' types, widened from their literal values). */
export type Defaults = { -readonly [K in keyof typeof DEFAULTS]: Widen<(typeof DEFAULTS)[K]> };

/** Options accepted by `createServer`; every field is optional. */
export interface ServerOptions extends Partial<Omit<Defaults, 'allowedOrigins' | 'secret' | 'smtpUrl' | 'publicUrl' | 'redisUrl'>> {
  allowedOrigins?: readonly string[] | null;
  secret?: string | null;
  smtpUrl?: string | null;
  publicUrl?: string | null;
  redisUrl?: string | null;
  /** Where log lines go. @default JSON lines on stderr at level `info` */
  logger?: Logger;
  /** The time source (tests inject one). @default the system clock */
  clock?: Clock;
  /** A store to use instead of opening `db` (tests, embedding). */
  store?: Store;
  /** A mailer to use instead of `smtpUrl`/`outboxDir`. */
  mailer?: Mailer;
}

/** Options after defaults and validation. */
export interface ResolvedOptions extends Omit<Defaults, 'allowedOrigins' | 'secret' | 'smtpUrl' | 'publicUrl' | 'redisUrl'> {
  allowedOrigins: readonly string[] | null;
  secret: string | null;
  smtpUrl: string | null;
  publicUrl: string | null;
  redisUrl: string | null;
}

/** A bad option value: the message names the option, the value and what is expected. */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(readonly option: string, message: string) {
    super(`option '${option}': ${message}`);
  }
}

type Check = (name: string, value: unknown) => void;

const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (name, value) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
};
const boolean: Check = (name, value) => {
  if (typeof value !== 'boolean') throw new OptionError(name, `expected true or false, got ${JSON.stringify(value)}`);
};
const nonEmptyString: Check = (name, value) => {
  if (typeof value !== 'string' || value === '') throw new OptionError(name, `expected a non-empty string, got ${JSON.stringify(value)}`);
};
const nullableString: Check = (name, value) => {
  if (value !== null) nonEmptyString(name, value);
};
const url = (protocols: readonly string[]): Check => (name, value) => {
  if (value === null) return;
  nonEmptyString(name, value);
  let parsed: URL;
  try {
    parsed = new URL(value as string);
  } catch {
    throw new OptionError(name, `expected a URL, got ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(parsed.protocol)) throw new OptionError(name, `expected a ${protocols.join(' or ')} URL, got ${parsed.protocol}`);
};

/**
 * The database spec: a SQLite file path, `:memory:`, `memory` or a PostgreSQL URL. Any other
 * `scheme://` is refused here: opened as a file name it would create `./mysql:/host/...`.
 */
const database: Check = (name, value) => {
  nonEmptyString(name, value);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec((value as string).trim());
  if (scheme && !/^postgres(ql)?$/i.test(scheme[1]!)) {
    throw new OptionError(name, `${scheme[1]}:// databases are not supported: give a SQLite file path, ":memory:", "memory" or a postgres:// URL`);
  }
};

const CHECKS: { [K in keyof Defaults]: Check } = {
  port: integer(0, 65535),
  host: nonEmptyString,
  maxFrameBytes: integer(64),
  maxBufferedBytes: integer(1024),
  handshakeTimeoutMs: integer(1),
  heartbeatIntervalMs: integer(0),
  heartbeatTimeoutMs: integer(1),
  maxMethodsInFlight: integer(1),
  maxSubscriptions: integer(1),
  maxConnectionsPerAddress: integer(0),
  perMessageDeflate: boolean,
  httpForwardedCount: integer(0, 100),
  allowedOrigins: (name, value) => {
    if (value === null) return;
    if (!Array.isArray(value) || !value.every((o) => typeof o === 'string' && o !== '')) {
      throw new OptionError(name, 'expected null or a list of origins such as "https://chat.example.com"');
    }
  },
  sockjs: boolean,
  shutdownTimeoutMs: integer(0),
  maxBodyBytes: integer(1),
  accountPage: boolean,
  db: database,
  secret: nullableString,
  smtpUrl: url(['smtp:', 'smtps:']),
  mailFrom: nonEmptyString,
  outboxDir: nonEmptyString,
  publicUrl: url(['http:', 'https:']),
  redisUrl: url(['redis:', 'rediss:']),
  signup: boolean,
  loginTokenLifetimeMs: integer(0),
  resetTokenLifetimeMs: integer(1000),
  verifyTokenLifetimeMs: integer(1000),
  bcryptCost: integer(4, 31),
  passwordWorkers: integer(0, 64),
  passwordQueueMax: integer(0, 100_000),
  passwordQueueMs: integer(1, 60_000),
  passwordMinLength: integer(1, 256),
  refuseCommonPasswords: boolean,
  accountsRateLimitCount: integer(1),
  accountsRateLimitWindowMs: integer(1),
  trustedClientMs: integer(0),
  totpWindow: integer(0, 10),
  totpIssuer: nonEmptyString,
  emailCodeLifetimeMs: integer(1000),
  maxFailedAttempts: integer(1, 1000),
  lockoutBaseMs: integer(1),
  lockoutMaxMs: integer(1),
  lockoutDecayMs: integer(1),
  passwordMaxFailures: integer(1, 1000),
  passwordLockoutMaxMs: integer(1),
  passwordLockoutDecayMs: integer(1),
  addressMaxFailures: integer(1, 100_000),
  addressLockoutDecayMs: integer(1),
  knownAddressMs: integer(0),
  revocationPollMs: integer(10),
  callResultWindowMs: integer(0),
  callResultWaitMs: integer(0),
  webauthnRpId: (name, value) => {
    if (value === null) return;
    nonEmptyString(name, value);
    if (!/^[a-z0-9.-]+$/i.test(value as string)) throw new OptionError(name, `expected a domain such as "chat.example.com", got ${JSON.stringify(value)}`);
  },
  webauthnOrigins: (name, value) => {
    if (value === null) return;
    if (!Array.isArray(value) || value.length === 0 || !value.every((o) => typeof o === 'string' && /^https?:\/\/[^/]+$/.test(o))) {
      throw new OptionError(name, 'expected null or a non-empty list of origins such as "https://chat.example.com" (scheme, host and port, no path)');
    }
  },
  backupCodeCount: integer(1, 100),
  backupCodeLength: integer(8, 64),
  metrics: boolean,
  metricsPort: integer(0, 65535),
  healthChecks: boolean,
};

/** Apply defaults and validate; throws {@link OptionError} naming the first bad option. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const known = new Set<string>([...Object.keys(DEFAULTS), 'logger', 'clock', 'store', 'mailer']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OptionError(key, `unknown option (known: ${[...known].sort().join(', ')})`);
  }
  const resolved: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof Defaults)[]) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    CHECKS[key](key, value);
    resolved[key] = value;
  }
  // Every process on a shared database must derive the same keys (TOTP secrets, code hashes,
  // trust marks): a random secret per process would make one process's enrolments fail on the others.
  if (/^postgres(ql)?:\/\//i.test(String(resolved.db).trim()) && resolved.secret === null && options.store === undefined) {
    throw new OptionError('secret', 'a PostgreSQL database is shared by several processes, which must all use the same server secret: set it (DDP_GUARD_SECRET, or "secret" in the config file; at least 32 random bytes as hex, e.g. from `openssl rand -hex 32`)');
  }
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}
