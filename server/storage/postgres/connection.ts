/**
 * The PostgreSQL connection pool the store runs on: options and their defaults, queries and
 * transactions that turn driver errors into store errors.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { StoreUnavailableError } from '../store-errors.js';
import { mapPgError, type PgErrorContext } from './pg-errors.js';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?sslmode=…`; the password is never logged. */
  url: string;
  /**
   * The schema holding ddp-guard's tables, created on first open. Lower-case letters, digits
   * and `_`, so it never needs quoting in `psql`. A schema of its own keeps `users`, `codes`…
   * apart from an application's tables in the same database.
   * @default 'ddp_guard'
   */
  schema?: string;
  /**
   * Connections per process. Every server process has its own pool, so the database sees
   * `processes × poolSize` connections; keep it under `max_connections`.
   * @default 10
   */
  poolSize?: number;
  /**
   * Server-side limit of one statement, waits for row locks included; past it the operation
   * fails with `StoreUnavailableError` and nothing is written.
   * @default 10000
   */
  statementTimeoutMs?: number;
  /**
   * How long to wait for a connection (a new one, or a free one from a busy pool).
   * @default 5000
   */
  connectTimeoutMs?: number;
}

/** The defaults of {@link PostgresStoreOptions}, in one place. */
export const POSTGRES_DEFAULTS = Object.freeze({
  schema: 'ddp_guard',
  poolSize: 10,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
});

/** A schema name that needs no quoting: what `psql` users type is what is stored. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Anything that runs a query: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** An open pool plus what SQL text and error messages need. */
export interface PgContext {
  readonly pool: pg.Pool;
  /** The schema name, as given. */
  readonly schema: string;
  /** The schema as a quoted identifier, to prefix table names with in SQL text. */
  readonly s: string;
  /** Where the store points, for messages (no password). */
  readonly errors: PgErrorContext;
  /**
   * Runs one statement, outside any transaction; `userId` names the user a foreign-key failure
   * refers to.
   */
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[], userId?: string): Promise<pg.QueryResult<R>>;
  /**
   * Runs `fn` in a READ COMMITTED transaction on one connection; rolls back if it throws.
   * Inside {@link PgContext.storeTransaction} it is a savepoint of that transaction instead.
   */
  transaction<T>(fn: (q: Queryable) => Promise<T>, userId?: string): Promise<T>;
  /**
   * `Store.transaction`: one connection holds BEGIN … COMMIT, and every `query` and
   * `transaction` made inside `fn` (found through the async context) runs on it.
   */
  storeTransaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the current call runs inside a {@link PgContext.storeTransaction}. */
  inTransaction(): boolean;
  /** Ends the pool; later calls fail with `StoreUnavailableError`. Idempotent. */
  close(): Promise<void>;
}

/** Options with every default filled in, after validation. */
export interface ResolvedPostgresOptions {
  url: string;
  schema: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

const positiveInt = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
};

/**
 * Validates the options and fills in the defaults.
 * @throws RangeError on a bad schema name, pool size or timeout; TypeError on a non-PostgreSQL URL.
 */
export function resolvePostgresOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  if (!/^postgres(ql)?:\/\//i.test(options.url.trim())) {
    throw new TypeError('The PostgreSQL URL must start with postgres:// or postgresql://');
  }
  const schema = options.schema ?? POSTGRES_DEFAULTS.schema;
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError(
      `The schema name ${JSON.stringify(schema)} is not allowed: use lower-case letters, digits and _ ` +
        '(starting with a letter or _), at most 63 characters',
    );
  }
  return {
    url: options.url.trim(),
    schema,
    poolSize: positiveInt('poolSize', options.poolSize ?? POSTGRES_DEFAULTS.poolSize),
    statementTimeoutMs: positiveInt('statementTimeoutMs', options.statementTimeoutMs ?? POSTGRES_DEFAULTS.statementTimeoutMs),
    connectTimeoutMs: positiveInt('connectTimeoutMs', options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs),
  };
}

/** `host:port/database` of a URL, for messages; never the user's password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname) || 'localhost';
    return `${host}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Creates the pool (no connection is made yet). */
export function createPgContext(options: ResolvedPostgresOptions): PgContext {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // A process that dies inside a transaction must not hold row locks for long.
    idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
    application_name: 'ddp-guard',
  });
  // An idle connection dropped by the server (restart, failover) is reported here; without a
  // listener it would crash the process. The pool discards it and the next query reconnects.
  pool.on('error', () => {});

  const errors: PgErrorContext = {
    target: describeTarget(options.url),
    statementTimeoutMs: options.statementTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    poolSize: options.poolSize,
  };
  let closed = false;
  /** The connection of the `storeTransaction` the current call runs in, while it is open. */
  const current = new AsyncLocalStorage<{ client: pg.PoolClient; open: boolean; savepoints: number }>();
  /** Store transactions open now: with none, the context is switched off (see `storeTransaction`). */
  let openTransactions = 0;
  const open = (): { client: pg.PoolClient; open: boolean; savepoints: number } | null => {
    const tx = current.getStore();
    return tx?.open === true ? tx : null;
  };
  /** Runs `fn` in BEGIN … COMMIT on a connection of the pool; rolls back if it throws. */
  const begin = <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    withClient(pool, async (client, discard) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A client whose ROLLBACK failed is in an unknown state: destroy it, do not reuse it.
        await client.query('ROLLBACK').catch(discard);
        throw err;
      }
    });
  const checkOpen = (): void => {
    if (closed) throw new StoreUnavailableError(`The PostgreSQL store (${errors.target}) is closed; open it again`);
  };

  return {
    pool,
    schema: options.schema,
    s: `"${options.schema}"`,
    errors,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], userId?: string) {
      checkOpen();
      try {
        return await (open()?.client ?? pool).query<R>(sql, params);
      } catch (err) {
        throw mapPgError(err, errors, userId);
      }
    },
    async transaction<T>(fn: (q: Queryable) => Promise<T>, userId?: string): Promise<T> {
      checkOpen();
      const tx = open();
      try {
        if (tx === null) return await begin(fn);
        // Inside a store transaction: a savepoint, so a failure here undoes only this part.
        const name = `sp${++tx.savepoints}`;
        await tx.client.query(`SAVEPOINT ${name}`);
        try {
          const result = await fn(tx.client);
          await tx.client.query(`RELEASE SAVEPOINT ${name}`);
          return result;
        } catch (err) {
          await tx.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
          throw err;
        }
      } catch (err) {
        throw mapPgError(err, errors, userId);
      }
    },
    inTransaction: () => open() !== null,
    async storeTransaction<T>(fn: () => Promise<T>): Promise<T> {
      checkOpen();
      // Nested: part of the outer transaction.
      if (open() !== null) return fn();
      const state = { client: null as unknown as pg.PoolClient, open: true, savepoints: 0 };
      try {
        return await begin(async (client) => {
          state.client = client;
          openTransactions++;
          try {
            return await current.run(state, fn);
          } finally {
            // A task started inside may outlive it: from now on it uses the pool.
            state.open = false;
            // With no transaction open, switch the context off: an enabled AsyncLocalStorage
            // turns on Node's promise hooks for every promise of the process. The next `run`
            // turns it on again.
            if (--openTransactions === 0) current.disable();
          }
        });
      } catch (err) {
        throw mapPgError(err, errors);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/**
 * Runs `fn` on a connection of the pool and hands it back, or destroys it when it failed
 * (`discard`, or an `'error'` event while checked out: pg-pool listens only to idle
 * connections, so without this listener a connection dropped mid-transaction would crash
 * the process).
 */
export async function withClient<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient, discard: (err: unknown) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const discard = (err: unknown): void => {
    broken ??= err instanceof Error ? err : new Error(String(err));
  };
  client.on('error', discard);
  try {
    return await fn(client, discard);
  } finally {
    client.off('error', discard);
    client.release(broken);
  }
}
