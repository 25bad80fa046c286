/**
 * The PostgreSQL store (node-postgres): the storage several ddp-guard processes share behind
 * a load balancer.
 * @module
 */
import type pg from 'pg';
import { pgCallResultStore } from './call-results.js';
import type { Store } from '../contract.js';
import { pgPasskeyStore, pgWebAuthnChallengeStore } from './passkeys.js';
import { pgAddressAttemptStore, pgAttemptStore } from './attempts.js';
import { pgKnownAddressStore, pgRevocationStore } from './guess-limits.js';
import { pgAuditStore } from './audit.js';
import { pgCodeStore } from './codes.js';
import { createPgContext, resolvePostgresOptions, withClient, type PostgresStoreOptions } from './connection.js';
import { mapPgError } from './pg-errors.js';
import { applyPgMigrations } from './migrations.js';
import { pgLoginTokenStore, pgPersonalTokenStore } from './tokens.js';
import { pgTwoFactorStore } from './two-factor.js';
import { pgUserStore } from './users.js';

export { POSTGRES_DEFAULTS, describeTarget, type PostgresStoreOptions } from './connection.js';
export { PG_MIGRATIONS, appliedPgMigrations, applyPgMigrations, type PgAppliedMigration, type PgMigration } from './migrations.js';

/**
 * Opens a PostgreSQL store: creates the pool, then creates the schema if missing and applies
 * pending migrations in one transaction under an advisory lock (two processes starting at
 * once do not race).
 *
 * Every ATOMIC operation of the contract is a single conditional statement or runs in a
 * transaction that row-locks first, so it stays atomic across processes. Transactions run at
 * READ COMMITTED; dates are `timestamptz`.
 *
 * @throws StoreUnavailableError when the server cannot be reached or refuses the login.
 * @throws RangeError / TypeError on invalid options.
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const resolved = resolvePostgresOptions(options);
  const ctx = createPgContext(resolved);
  try {
    await migrate(ctx.pool, ctx.schema);
  } catch (err) {
    await ctx.close().catch(() => {});
    throw mapPgError(err, ctx.errors);
  }
  return {
    kind: 'postgres',
    users: pgUserStore(ctx),
    loginTokens: pgLoginTokenStore(ctx),
    personalTokens: pgPersonalTokenStore(ctx),
    twoFactor: pgTwoFactorStore(ctx),
    codes: pgCodeStore(ctx),
    attempts: pgAttemptStore(ctx),
    addressAttempts: pgAddressAttemptStore(ctx),
    knownAddresses: pgKnownAddressStore(ctx),
    revocations: pgRevocationStore(ctx),
    audit: pgAuditStore(ctx),
    passkeys: pgPasskeyStore(ctx),
    webauthnChallenges: pgWebAuthnChallengeStore(ctx),
    callResults: pgCallResultStore(ctx),
    transaction: (fn) => ctx.storeTransaction(fn),
    async ping() {
      await ctx.query('SELECT 1');
    },
    close: () => ctx.close(),
  };
}

/** Runs the migrations on one connection of the pool. */
async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  await withClient(pool, async (client, discard) => {
    try {
      await applyPgMigrations(client, schema);
    } catch (err) {
      // The connection may be the reason; do not hand it back to the pool.
      discard(err);
      throw err;
    }
  });
}
