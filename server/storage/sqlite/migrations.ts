/**
 * Versioned schema of the SQLite store. Append new migrations at the end with the next
 * number; never edit one that has shipped (databases in the field already ran it).
 * @module
 */
import type Database from 'better-sqlite3';

/** One schema step. */
export interface Migration {
  /** Strictly increasing, starting at 1. */
  version: number;
  /** Short description, recorded in `schema_migrations`. */
  name: string;
  sql: string;
}

/** The current time in integer milliseconds, in SQL (triggers have no parameters). */
const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/**
 * All migrations, in order. Dates are integer milliseconds since the epoch; booleans are
 * 0/1; `*_key` columns hold the case-folded value uniqueness is enforced on.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        created_at INTEGER NOT NULL,
        profile TEXT
      ) STRICT;
      CREATE INDEX users_created ON users(created_at);

      CREATE TABLE user_emails (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL UNIQUE,
        verified INTEGER NOT NULL,
        PRIMARY KEY (user_id, position)
      ) STRICT;

      CREATE TABLE login_tokens (
        hashed_token TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        trust_fingerprint TEXT,
        trust_until INTEGER
      ) STRICT;
      CREATE INDEX login_tokens_user ON login_tokens(user_id);
      CREATE INDEX login_tokens_expires ON login_tokens(expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE personal_tokens (
        hashed_token TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        bypass_two_factor INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        UNIQUE (user_id, name)
      ) STRICT;

      CREATE TABLE two_factor (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        totp_enabled INTEGER NOT NULL DEFAULT 0,
        totp_secret TEXT,
        pending_totp_secret TEXT,
        last_totp_step INTEGER,
        email_enabled INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE backup_codes (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        PRIMARY KEY (user_id, code_hash)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE codes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        data TEXT
      ) STRICT;
      CREATE INDEX codes_user ON codes(user_id, purpose);
      CREATE INDEX codes_hash ON codes(code_hash);
      CREATE INDEX codes_expires ON codes(expires_at);

      CREATE TABLE attempts (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        factor TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locked_until INTEGER,
        lock_count INTEGER NOT NULL,
        PRIMARY KEY (user_id, factor)
      ) STRICT, WITHOUT ROWID;

      -- No foreign key: the audit trail outlives the accounts it mentions.
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        user_id TEXT,
        action TEXT NOT NULL,
        client_address TEXT,
        user_agent TEXT,
        details TEXT
      ) STRICT;
      CREATE INDEX audit_at ON audit(at, id);
      CREATE INDEX audit_user_at ON audit(user_id, at, id);
    `,
  },
  {
    version: 2,
    name: 'decaying attempt counters, address counters, known addresses, revocation feed',
    // Counters written before this version keep their failures (lock-outs count as one more
    // each) and start decaying now, so an upgrade hands nobody a fresh budget.
    sql: `
      ALTER TABLE attempts ADD COLUMN decay_from INTEGER;
      UPDATE attempts SET failures = failures + lock_count,
        decay_from = ${NOW_MS}
        WHERE failures + lock_count > 0;

      CREATE TABLE address_attempts (
        address_key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until INTEGER,
        lock_count INTEGER NOT NULL,
        decay_from INTEGER
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE known_addresses (
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        address_key TEXT NOT NULL,
        last_success_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, address_key)
      ) STRICT, WITHOUT ROWID;

      -- Written by triggers, so every removal of a token is in the feed, whoever removes it
      -- (a method, an admin command in another process, a cascade, the expiry sweep).
      CREATE TABLE revoked_tokens (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        hashed_token TEXT NOT NULL,
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX revoked_tokens_at ON revoked_tokens(at);
      CREATE TRIGGER login_tokens_revoked AFTER DELETE ON login_tokens BEGIN
        INSERT INTO revoked_tokens (hashed_token, at) VALUES (old.hashed_token, ${NOW_MS});
      END;
      CREATE TRIGGER personal_tokens_revoked AFTER DELETE ON personal_tokens BEGIN
        INSERT INTO revoked_tokens (hashed_token, at) VALUES (old.hashed_token, ${NOW_MS});
      END;
      CREATE TRIGGER personal_tokens_replaced AFTER UPDATE OF hashed_token ON personal_tokens
        WHEN old.hashed_token <> new.hashed_token BEGIN
        INSERT INTO revoked_tokens (hashed_token, at) VALUES (old.hashed_token, ${NOW_MS});
      END;
    `,
  },
  {
    version: 3,
    name: 'where and when login tokens were last used (the account page lists sessions)',
    // Tokens issued before this version show no use until their next one.
    sql: `
      ALTER TABLE login_tokens ADD COLUMN last_used_at INTEGER;
      ALTER TABLE login_tokens ADD COLUMN client_address TEXT;
      ALTER TABLE login_tokens ADD COLUMN user_agent TEXT;
    `,
  },
  {
    version: 4,
    name: 'passkeys and WebAuthn challenges',
    sql: `
      CREATE TABLE passkeys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        counter INTEGER NOT NULL,
        transports TEXT NOT NULL,
        backed_up INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      ) STRICT;
      CREATE INDEX passkeys_user ON passkeys(user_id);

      CREATE TABLE webauthn_challenges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        challenge TEXT NOT NULL,
        ceremony TEXT NOT NULL,
        user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
        binding TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webauthn_challenges_value ON webauthn_challenges(challenge);
      CREATE INDEX webauthn_challenges_expires ON webauthn_challenges(expires_at);
    `,
  },
  {
    version: 5,
    name: 'call results (a re-sent method call runs once)',
    // No reference to users: entries live minutes and are pruned by expires_at.
    sql: `
      CREATE TABLE call_results (
        user_id TEXT NOT NULL,
        seed TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        outcome TEXT,
        PRIMARY KEY (user_id, seed)
      ) STRICT;
      CREATE INDEX call_results_expires ON call_results(expires_at);
    `,
  },
]);

/** A row of `schema_migrations`. */
export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}

/**
 * Brings the schema up to date: each pending migration runs in its own IMMEDIATE
 * transaction (so two processes opening the same file at once cannot both apply it), and is
 * recorded in `schema_migrations` in that same transaction.
 * @throws Error when the database was written by a newer version than this code knows.
 */
export function applyMigrations(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration ${m.name} must have version ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  const latest = current.get()?.v ?? 0;
  if (latest > migrations.length) {
    throw new Error(
      `The database schema is at version ${latest} but this ddp-guard knows only ` +
        `${migrations.length}; upgrade ddp-guard or use another database file`,
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    // Reopening an up-to-date file takes no write lock at all.
    if (m.version <= latest) continue;
    const apply = db.transaction(() => {
      // Re-read inside the lock: another process may have applied it meanwhile.
      if ((current.get()?.v ?? 0) >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    });
    apply.immediate();
  }
}

/** The migrations recorded in the database, in order. */
export function appliedMigrations(db: Database.Database): AppliedMigration[] {
  return db
    .prepare<[], { version: number; name: string; applied_at: number }>(
      'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
    )
    .all()
    .map((r) => ({ version: r.version, name: r.name, appliedAt: new Date(r.applied_at) }));
}
