/**
 * Turning PostgreSQL and driver errors into store errors, each unavailability with a message
 * saying what to check.
 * @module
 */
import { StoreConflictError, StoreNotFoundError, StoreUnavailableError, type ConflictField } from '../store-errors.js';

/** What a message about a failure needs to know about the store. */
export interface PgErrorContext {
  /** `host:port/database`, never the password. */
  target: string;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  poolSize: number;
}

/** Which unique constraint (named in `migrations.ts`) → which field collided. */
const CONFLICT_CONSTRAINTS: Readonly<Record<string, ConflictField>> = Object.freeze({
  users_username_key: 'username',
  user_emails_address_key: 'email',
  personal_tokens_user_name: 'name',
  login_tokens_pkey: 'token',
  personal_tokens_pkey: 'token',
  passkeys_pkey: 'credential',
});

/** Network failures of the socket under the driver. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'EAI_AGAIN',
]);

interface PgLikeError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The error's `code`, looking inside an AggregateError (Node tries IPv4 and IPv6 in turn). */
function errorCode(err: PgLikeError): string | null {
  if (typeof err.code === 'string') return err.code;
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      if (inner && typeof (inner as PgLikeError).code === 'string') return (inner as PgLikeError).code as string;
    }
  }
  return null;
}

/** True for a PostgreSQL unique violation on `constraint`. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as PgLikeError | null;
  return e !== null && typeof e === 'object' && e.code === '23505' && e.constraint === constraint;
}

const unavailable = (message: string, cause: unknown): StoreUnavailableError =>
  new StoreUnavailableError(message, { cause });

/**
 * Maps an error from `pg` to a store error. `userId` names the user a foreign-key failure
 * refers to. Anything unrecognised is returned unchanged: a programming error (bad SQL, a
 * constraint this code does not expect) surfaces as itself.
 */
export function mapPgError(err: unknown, ctx: PgErrorContext, userId?: string): unknown {
  if (err === null || typeof err !== 'object') return err;
  if (err instanceof StoreConflictError || err instanceof StoreNotFoundError || err instanceof StoreUnavailableError) {
    return err;
  }
  const e = err as PgLikeError;
  const code = errorCode(e);
  const message = typeof e.message === 'string' ? e.message : '';
  const at = `PostgreSQL at ${ctx.target}`;

  switch (code) {
    case '23505': {
      const field = typeof e.constraint === 'string' ? CONFLICT_CONSTRAINTS[e.constraint] : undefined;
      return field ? new StoreConflictError(field) : err;
    }
    case '23503':
      return userId === undefined ? err : new StoreNotFoundError(userId);
    case '57014':
      return unavailable(
        `A statement on ${at} ran longer than statementTimeoutMs (${ctx.statementTimeoutMs} ms), ` +
          'usually waiting for a row lock; nothing was written. Retry later, and look for a long ' +
          'transaction (pg_stat_activity) or raise statementTimeoutMs.',
        err,
      );
    case '40001':
    case '40P01':
      return unavailable(`${at} aborted the operation to resolve a conflict (${code}); nothing was written. Retry it.`, err);
    case '28P01':
    case '28000':
      return unavailable(
        `${at} refused the login (${code}): check the user and password in the URL and the server's pg_hba.conf.`,
        err,
      );
    case '3D000':
      return unavailable(`${at}: the database does not exist (${code}): create it or fix the database name in the URL.`, err);
    case '42501':
      return unavailable(
        `${at}: permission denied (${code}): the user in the URL needs CREATE on the database (first start) ` +
          'and read/write access to the ddp-guard schema.',
        err,
      );
    case '25006':
      return unavailable(`${at} is read-only (${code}): point the URL at the primary, not a standby.`, err);
    case 'ENOTFOUND':
      return unavailable(`Cannot resolve the host of ${at} (ENOTFOUND): check the host name in the URL.`, err);
  }
  if (code !== null && NETWORK_CODES.has(code)) {
    return unavailable(
      `Cannot reach ${at} (${code}): check that the server is running, listens on that host and ` +
        'port (listen_addresses), and that no firewall is in the way.',
      err,
    );
  }
  // Connection exceptions (08…), shutdown (57P01-03), too many connections / out of resources (53…).
  if (code !== null && (/^08/.test(code) || /^57P0[1-3]$/.test(code) || /^53/.test(code))) {
    return unavailable(
      `${at} is unavailable (${code}: ${message}): check the server's state and log, and max_connections ` +
        `(each ddp-guard process opens up to ${ctx.poolSize}).`,
      err,
    );
  }
  if (/timeout exceeded when trying to connect/i.test(message)) {
    return unavailable(
      `All ${ctx.poolSize} connections to ${at} stayed busy for ${ctx.connectTimeoutMs} ms: raise poolSize, ` +
        'or look for slow queries.',
      err,
    );
  }
  if (/connection timeout/i.test(message)) {
    return unavailable(
      `No answer from ${at} within ${ctx.connectTimeoutMs} ms: check that the server is up and reachable ` +
        '(host, port, firewall).',
      err,
    );
  }
  if (/Connection terminated|Client was closed|Client has encountered a connection error/i.test(message)) {
    return unavailable(`The connection to ${at} was lost (${message}); retry, and check the server's log.`, err);
  }
  if (/Cannot use a pool after calling end/i.test(message)) {
    return unavailable(`The PostgreSQL store (${ctx.target}) is closed; open it again`, err);
  }
  return err;
}
