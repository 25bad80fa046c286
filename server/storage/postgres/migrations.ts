/**
 * Versioned schema of the PostgreSQL store. Append new migrations at the end with the next
 * number; never edit one that has shipped (databases in the field already ran it).
 * @module
 */
import type pg from 'pg';

/** One schema step; `sql` gets the quoted schema name to prefix tables with. */
export interface PgMigration {
  /** Strictly increasing, starting at 1. */
  version: number;
  /** Short description, recorded in `schema_migrations`. */
  name: string;
  sql: (s: string) => string;
}

/**
 * All migrations, in order. Dates are `timestamptz` (the store keeps milliseconds); `*_key`
 * columns hold the value folded in JavaScript (`foldCase`) that uniqueness is enforced on, so
 * every store agrees on what a duplicate is whatever the database collation. Constraint names
 * matter: `errors.ts` maps them to the conflicting field. JSON columns are `json`, not `jsonb`:
 * an exact copy, and `jsonb` would reject a `\u0000` in an audit detail.
 */
export const PG_MIGRATIONS: readonly PgMigration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    sql: (s: string) => `
      CREATE TABLE ${s}.users (
        id text PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        username text NOT NULL,
        username_key text NOT NULL CONSTRAINT users_username_key UNIQUE,
        password_hash text,
        created_at timestamptz NOT NULL,
        profile json
      );
      CREATE INDEX users_created ON ${s}.users (created_at, seq);

      CREATE TABLE ${s}.user_emails (
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        position integer NOT NULL,
        address text NOT NULL,
        address_key text NOT NULL CONSTRAINT user_emails_address_key UNIQUE,
        verified boolean NOT NULL,
        PRIMARY KEY (user_id, position)
      );

      CREATE TABLE ${s}.login_tokens (
        hashed_token text CONSTRAINT login_tokens_pkey PRIMARY KEY,
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        trust_fingerprint text,
        trust_until timestamptz
      );
      CREATE INDEX login_tokens_user ON ${s}.login_tokens (user_id);
      CREATE INDEX login_tokens_expires ON ${s}.login_tokens (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE ${s}.personal_tokens (
        hashed_token text CONSTRAINT personal_tokens_pkey PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        name text NOT NULL,
        bypass_two_factor boolean NOT NULL,
        created_at timestamptz NOT NULL,
        last_used_at timestamptz,
        CONSTRAINT personal_tokens_user_name UNIQUE (user_id, name)
      );

      CREATE TABLE ${s}.two_factor (
        user_id text PRIMARY KEY REFERENCES ${s}.users (id) ON DELETE CASCADE,
        totp_enabled boolean NOT NULL DEFAULT false,
        totp_secret text,
        pending_totp_secret text,
        last_totp_step bigint,
        email_enabled boolean NOT NULL DEFAULT false
      );

      CREATE TABLE ${s}.backup_codes (
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        code_hash text NOT NULL,
        PRIMARY KEY (user_id, code_hash)
      );

      CREATE TABLE ${s}.codes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        purpose text NOT NULL,
        code_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        data text
      );
      CREATE INDEX codes_user ON ${s}.codes (user_id, purpose);
      CREATE INDEX codes_hash ON ${s}.codes (code_hash);
      CREATE INDEX codes_expires ON ${s}.codes (expires_at);
      -- Only the latest email 2FA code is valid: one per user, replaced by an upsert.
      CREATE UNIQUE INDEX codes_one_email_2fa ON ${s}.codes (user_id) WHERE purpose = 'email-2fa';

      CREATE TABLE ${s}.attempts (
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        factor text NOT NULL,
        failures integer NOT NULL,
        locked_until timestamptz,
        lock_count integer NOT NULL,
        PRIMARY KEY (user_id, factor)
      );

      -- No foreign key: the audit trail outlives the accounts it mentions.
      CREATE TABLE ${s}.audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL,
        user_id text,
        action text NOT NULL,
        client_address text,
        user_agent text,
        details json
      );
      CREATE INDEX audit_at ON ${s}.audit (at, id);
      CREATE INDEX audit_user_at ON ${s}.audit (user_id, at, id);
    `,
  },
  {
    version: 2,
    name: 'decaying attempt counters, address counters, known addresses, revocation feed',
    // Counters written before this version keep their failures (lock-outs count as one more
    // each) and start decaying now, so an upgrade hands nobody a fresh budget.
    sql: (s: string) => `
      ALTER TABLE ${s}.attempts ADD COLUMN decay_from timestamptz;
      UPDATE ${s}.attempts SET failures = failures + lock_count, decay_from = now()
        WHERE failures + lock_count > 0;

      CREATE TABLE ${s}.address_attempts (
        address_key text PRIMARY KEY,
        failures integer NOT NULL,
        locked_until timestamptz,
        lock_count integer NOT NULL,
        decay_from timestamptz
      );

      CREATE TABLE ${s}.known_addresses (
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        address_key text NOT NULL,
        last_success_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, address_key)
      );

      -- Written by triggers, so every removal of a token is in the feed, whoever removes it
      -- (a method, an admin command, a cascade, the expiry sweep). "at" is the statement's
      -- clock time: readers look back a little past their cursor for rows committed late.
      CREATE TABLE ${s}.revoked_tokens (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        hashed_token text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX revoked_tokens_at ON ${s}.revoked_tokens (at);
      CREATE FUNCTION ${s}.token_revoked() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          INSERT INTO ${s}.revoked_tokens (hashed_token) VALUES (OLD.hashed_token);
          RETURN NULL;
        END
      $fn$;
      CREATE TRIGGER login_tokens_revoked AFTER DELETE ON ${s}.login_tokens
        FOR EACH ROW EXECUTE FUNCTION ${s}.token_revoked();
      CREATE TRIGGER personal_tokens_revoked AFTER DELETE ON ${s}.personal_tokens
        FOR EACH ROW EXECUTE FUNCTION ${s}.token_revoked();
      CREATE TRIGGER personal_tokens_replaced AFTER UPDATE OF hashed_token ON ${s}.personal_tokens
        FOR EACH ROW WHEN (OLD.hashed_token IS DISTINCT FROM NEW.hashed_token)
        EXECUTE FUNCTION ${s}.token_revoked();
    `,
  },
  {
    version: 3,
    name: 'where and when login tokens were last used (the account page lists sessions)',
    // Tokens issued before this version show no use until their next one; seq orders tokens
    // issued in the same millisecond as they were inserted.
    sql: (s: string) => `
      ALTER TABLE ${s}.login_tokens
        ADD COLUMN last_used_at timestamptz,
        ADD COLUMN client_address text,
        ADD COLUMN user_agent text,
        ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
    `,
  },
  {
    version: 4,
    name: 'passkeys and WebAuthn challenges',
    sql: (s: string) => `
      CREATE TABLE ${s}.passkeys (
        id text CONSTRAINT passkeys_pkey PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        user_id text NOT NULL REFERENCES ${s}.users (id) ON DELETE CASCADE,
        name text NOT NULL,
        public_key text NOT NULL,
        counter bigint NOT NULL,
        transports json NOT NULL,
        backed_up boolean NOT NULL,
        created_at timestamptz NOT NULL,
        last_used_at timestamptz
      );
      CREATE INDEX passkeys_user ON ${s}.passkeys (user_id, seq);

      CREATE TABLE ${s}.webauthn_challenges (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        challenge text NOT NULL,
        ceremony text NOT NULL,
        user_id text REFERENCES ${s}.users (id) ON DELETE CASCADE,
        binding text,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX webauthn_challenges_value ON ${s}.webauthn_challenges (challenge);
      CREATE INDEX webauthn_challenges_expires ON ${s}.webauthn_challenges (expires_at);
    `,
  },
  {
    version: 5,
    name: 'call results (a re-sent method call runs once)',
    // No reference to users: entries live minutes and are pruned by expires_at.
    sql: (s: string) => `
      CREATE TABLE ${s}.call_results (
        user_id text NOT NULL,
        seed text NOT NULL,
        claimed_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        outcome text,
        PRIMARY KEY (user_id, seed)
      );
      CREATE INDEX call_results_expires ON ${s}.call_results (expires_at);
    `,
  },
]);

/** A row of `schema_migrations`. */
export interface PgAppliedMigration {
  version: number;
  name: string;
  appliedAt: Date;
}

/**
 * First key of the advisory lock taken while migrating ("ddpg"); the second is the schema's
 * hash, so stores in different schemas rarely wait for each other.
 */
const MIGRATION_LOCK_CLASS = 0x64647067;

/**
 * Brings the schema up to date in ONE transaction holding `pg_advisory_xact_lock`, so two
 * processes starting at once run the migrations once: the second waits, then finds nothing
 * to do. Creates the schema when missing (checking first, so an existing schema needs no
 * CREATE privilege on the database). A failing migration rolls everything back.
 * @throws Error when the schema was written by a newer ddp-guard than this one.
 */
export async function applyPgMigrations(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<void> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration ${m.name} must have version ${i + 1}`);
  });
  const s = `"${schema}"`;
  await client.query('BEGIN');
  try {
    // A migration may rewrite a large table, and a process starting meanwhile must wait for
    // it rather than fail: no statement timeout here (the pool's applies to everything else).
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0)::int AS v FROM ${s}.schema_migrations`);
    const latest = rows[0]?.v ?? 0;
    if (latest > migrations.length) {
      throw new Error(
        `The PostgreSQL schema ${schema} is at version ${latest} but this ddp-guard knows only ` +
          `${migrations.length}; upgrade ddp-guard or use another schema`,
      );
    }
    for (const m of migrations) {
      if (m.version <= latest) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The migrations recorded in the schema, in order. */
export async function appliedPgMigrations(client: pg.ClientBase | pg.Pool, schema: string): Promise<PgAppliedMigration[]> {
  const { rows } = await client.query<{ version: number; name: string; applied_at: Date }>(
    `SELECT version, name, applied_at FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at }));
}
