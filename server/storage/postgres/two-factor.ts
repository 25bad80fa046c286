/**
 * PostgreSQL `TwoFactorStore`. The replay guard and backup-code use are single conditional
 * statements, and the multi-statement changes lock the user's `two_factor` row first, so
 * every operation stays atomic across processes sharing the database.
 * @module
 */
import { defaultTwoFactorState, type TwoFactorStore } from '../contract.js';
import type { PgContext, Queryable } from './connection.js';

interface TwoFactorRow {
  totp_enabled: boolean;
  totp_secret: string | null;
  pending_totp_secret: string | null;
  last_totp_step: string | null;
  email_enabled: boolean;
  backup_codes: number;
}

/** Builds the PostgreSQL 2FA store. */
export function pgTwoFactorStore(ctx: PgContext): TwoFactorStore {
  const { s } = ctx;

  /** Replaces the codes; the caller holds the row lock. Repeated hashes are one code. */
  const replaceCodes = async (q: Queryable, userId: string, hashes: string[]): Promise<void> => {
    await q.query(`DELETE FROM ${s}.backup_codes WHERE user_id = $1`, [userId]);
    if (hashes.length === 0) return;
    await q.query(
      `INSERT INTO ${s}.backup_codes (user_id, code_hash) SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING`,
      [userId, hashes],
    );
  };

  /** An upsert of one column; a missing user fails the foreign key. */
  const setColumn = async (userId: string, column: string, value: unknown): Promise<void> => {
    await ctx.query(
      `INSERT INTO ${s}.two_factor (user_id, ${column}) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET ${column} = EXCLUDED.${column}`,
      [userId, value],
      userId,
    );
  };

  return {
    async get(userId) {
      const { rows } = await ctx.query<TwoFactorRow>(
        `SELECT totp_enabled, totp_secret, pending_totp_secret, last_totp_step, email_enabled,
           (SELECT count(*)::int FROM ${s}.backup_codes b WHERE b.user_id = t.user_id) AS backup_codes
         FROM ${s}.two_factor t WHERE user_id = $1`,
        [userId],
      );
      const r = rows[0];
      if (!r) return defaultTwoFactorState(userId);
      return {
        userId,
        totpEnabled: r.totp_enabled,
        totpSecret: r.totp_secret,
        pendingTotpSecret: r.pending_totp_secret,
        // bigint arrives as a string; steps are far below 2^53.
        lastTotpStep: r.last_totp_step === null ? null : Number(r.last_totp_step),
        emailEnabled: r.email_enabled,
        backupCodesRemaining: r.backup_codes,
      };
    },
    setPendingTotpSecret: (userId, ciphertext) => setColumn(userId, 'pending_totp_secret', ciphertext),
    async enableTotp(userId, backupCodeHashes) {
      return ctx.transaction(async (q) => {
        // The conditional UPDATE row-locks (as SELECT … FOR UPDATE would) until COMMIT: a
        // concurrent enable waits, re-reads the row, finds TOTP enabled and changes nothing.
        const promoted = await q.query(
          `UPDATE ${s}.two_factor
           SET totp_secret = pending_totp_secret, pending_totp_secret = NULL, totp_enabled = true
           WHERE user_id = $1 AND pending_totp_secret IS NOT NULL AND NOT totp_enabled`,
          [userId],
        );
        if ((promoted.rowCount ?? 0) === 0) return false;
        await replaceCodes(q, userId, backupCodeHashes);
        return true;
      }, userId);
    },
    async disableTotp(userId) {
      return ctx.transaction(async (q) => {
        const { rows } = await q.query<{ totp_enabled: boolean }>(
          `SELECT totp_enabled FROM ${s}.two_factor WHERE user_id = $1 FOR UPDATE`,
          [userId],
        );
        await q.query(
          `UPDATE ${s}.two_factor SET totp_enabled = false, totp_secret = NULL, pending_totp_secret = NULL,
             last_totp_step = NULL WHERE user_id = $1`,
          [userId],
        );
        await q.query(`DELETE FROM ${s}.backup_codes WHERE user_id = $1`, [userId]);
        return rows[0]?.totp_enabled === true;
      });
    },
    async recordTotpStep(userId, step) {
      // One statement: inserts the row, or updates it only when the step is newer. The
      // conflict branch locks the row and re-checks the WHERE against its latest version, so
      // of two concurrent calls with one step exactly one changes a row.
      const r = await ctx.query(
        `INSERT INTO ${s}.two_factor AS t (user_id, last_totp_step) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET last_totp_step = EXCLUDED.last_totp_step
         WHERE t.last_totp_step IS NULL OR t.last_totp_step < EXCLUDED.last_totp_step`,
        [userId, step],
        userId,
      );
      return (r.rowCount ?? 0) > 0;
    },
    async replaceBackupCodes(userId, hashes) {
      await ctx.transaction(async (q) => {
        await q.query(`INSERT INTO ${s}.two_factor (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [userId]);
        // Serialises with enableTotp and disableTotp of the same user.
        await q.query(`SELECT 1 FROM ${s}.two_factor WHERE user_id = $1 FOR UPDATE`, [userId]);
        await replaceCodes(q, userId, hashes);
      }, userId);
    },
    async consumeBackupCode(userId, hash) {
      // Of concurrent DELETEs of one row, the first deletes it and the others find nothing.
      const r = await ctx.query(`DELETE FROM ${s}.backup_codes WHERE user_id = $1 AND code_hash = $2`, [userId, hash]);
      return (r.rowCount ?? 0) > 0;
    },
    setEmailEnabled: (userId, enabled) => setColumn(userId, 'email_enabled', enabled),
  };
}
