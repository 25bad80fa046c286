/**
 * PostgreSQL `CodeStore`. `consume` is one `DELETE … RETURNING`, so exactly one caller gets a
 * given code even across processes; the one-email-code-per-user rule is a partial unique
 * index, kept by an upsert.
 * @module
 */
import type { CodePurpose, CodeRecord, CodeStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface CodeRow {
  user_id: string;
  purpose: string;
  code_hash: string;
  created_at: Date;
  expires_at: Date;
  data: string | null;
}

const toCode = (r: CodeRow): CodeRecord => ({
  userId: r.user_id,
  purpose: r.purpose as CodePurpose,
  codeHash: r.code_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  data: r.data,
});

const COLUMNS = 'user_id, purpose, code_hash, created_at, expires_at, data';

/** Builds the PostgreSQL code store. */
export function pgCodeStore(ctx: PgContext): CodeStore {
  const { s } = ctx;
  const insert = `INSERT INTO ${s}.codes (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`;
  // Only the latest email code is valid: asking again replaces the previous one, atomically
  // (two concurrent requests leave one code, never two).
  const upsertEmailCode = `${insert}
    ON CONFLICT (user_id) WHERE purpose = 'email-2fa' DO UPDATE SET
      code_hash = EXCLUDED.code_hash, created_at = EXCLUDED.created_at,
      expires_at = EXCLUDED.expires_at, data = EXCLUDED.data`;
  // A concurrent consumer of the same row waits for the first DELETE, then finds the row gone
  // and returns nothing.
  const consume = (byUser: boolean): string => `DELETE FROM ${s}.codes WHERE id = (
      SELECT id FROM ${s}.codes
      WHERE purpose = $1 AND code_hash = $2 AND expires_at > $3 ${byUser ? 'AND user_id = $4' : ''}
      ORDER BY id LIMIT 1)
    RETURNING ${COLUMNS}`;
  const consumeForUser = consume(true);
  const consumeAny = consume(false);

  return {
    async put(rec) {
      await ctx.query(
        rec.purpose === 'email-2fa' ? upsertEmailCode : insert,
        [rec.userId, rec.purpose, rec.codeHash, rec.createdAt, rec.expiresAt, rec.data],
        rec.userId,
      );
    },
    async findActive(userId, purpose, now) {
      const { rows } = await ctx.query<CodeRow>(
        `SELECT ${COLUMNS} FROM ${s}.codes WHERE user_id = $1 AND purpose = $2 AND expires_at > $3
         ORDER BY created_at DESC, id DESC LIMIT 1`,
        [userId, purpose, now],
      );
      return rows[0] ? toCode(rows[0]) : null;
    },
    async consume(userId, purpose, codeHash, now) {
      const { rows } =
        userId === null
          ? await ctx.query<CodeRow>(consumeAny, [purpose, codeHash, now])
          : await ctx.query<CodeRow>(consumeForUser, [purpose, codeHash, now, userId]);
      return rows[0] ? toCode(rows[0]) : null;
    },
    async removeForUser(userId, purpose) {
      const r = await ctx.query(`DELETE FROM ${s}.codes WHERE user_id = $1 AND purpose = $2`, [userId, purpose]);
      return r.rowCount ?? 0;
    },
    async removeExpired(now) {
      const r = await ctx.query(`DELETE FROM ${s}.codes WHERE expires_at <= $1`, [now]);
      return r.rowCount ?? 0;
    },
  };
}
