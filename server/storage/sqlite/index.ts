/**
 * The embedded SQLite store (better-sqlite3), the default storage of ddp-guard.
 * @module
 */
import { sqliteCallResultStore } from './call-results.js';
import type { Store } from '../contract.js';
import { sqliteWebAuthnChallengeStore, sqlitePasskeyStore } from './passkeys.js';
import { sqliteAddressAttemptStore, sqliteAttemptStore } from './attempts.js';
import { sqliteKnownAddressStore, sqliteRevocationStore } from './guess-limits.js';
import { sqliteAuditStore } from './audit.js';
import { sqliteCodeStore } from './codes.js';
import { openSqlite, type SqliteStoreOptions } from './connection.js';
import { sqliteLoginTokenStore, sqlitePersonalTokenStore } from './tokens.js';
import { sqliteTwoFactorStore } from './two-factor.js';
import { sqliteUserStore } from './users.js';
import { withSerialTransactions } from '../serial-transactions.js';

export { DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from './connection.js';
export { MIGRATIONS, appliedMigrations, type AppliedMigration, type Migration } from './migrations.js';

/**
 * Opens a SQLite store: creates the file and its directory if missing, turns on WAL,
 * `synchronous = FULL`, foreign keys and the busy timeout, and applies pending migrations.
 *
 * better-sqlite3 is synchronous, so each method runs to completion before the next starts in
 * this process; the atomic operations are also single conditional statements or IMMEDIATE
 * transactions so they stay atomic across processes sharing the file. `transaction(fn)` is
 * `BEGIN IMMEDIATE` … `COMMIT` on the one connection, other callers waiting meanwhile.
 *
 * @throws StoreUnavailableError when the file cannot be opened or stays locked.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const ctx = openSqlite(options);
  const ping = ctx.db.prepare('SELECT 1');
  return withSerialTransactions({
    kind: 'sqlite',
    users: sqliteUserStore(ctx),
    loginTokens: sqliteLoginTokenStore(ctx),
    personalTokens: sqlitePersonalTokenStore(ctx),
    twoFactor: sqliteTwoFactorStore(ctx),
    codes: sqliteCodeStore(ctx),
    attempts: sqliteAttemptStore(ctx),
    addressAttempts: sqliteAddressAttemptStore(ctx),
    knownAddresses: sqliteKnownAddressStore(ctx),
    revocations: sqliteRevocationStore(ctx),
    audit: sqliteAuditStore(ctx),
    passkeys: sqlitePasskeyStore(ctx),
    webauthnChallenges: sqliteWebAuthnChallengeStore(ctx),
    callResults: sqliteCallResultStore(ctx),
    async ping() {
      ctx.guard(() => ping.get());
    },
    async close() {
      // Closing twice is harmless, as for a socket.
      if (ctx.db.open) ctx.db.close();
    },
  }, {
    // IMMEDIATE takes the write lock at once (waiting up to the busy timeout), so a
    // transaction never fails half-way because another process started writing.
    begin: () => ctx.guard(() => ctx.db.exec('BEGIN IMMEDIATE')),
    commit: () => ctx.guard(() => ctx.db.exec('COMMIT')),
    rollback: () => {
      // A failed statement may have ended the transaction already (SQLite rolls back on some errors).
      if (ctx.db.open && ctx.db.inTransaction) ctx.db.exec('ROLLBACK');
    },
  });
}
