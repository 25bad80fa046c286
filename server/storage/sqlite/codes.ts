/**
 * SQLite `CodeStore`. `consume` is one `DELETE … RETURNING`, so exactly one caller gets a
 * given code even across processes.
 * @module
 */
import type { CodePurpose, CodeRecord, CodeStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface CodeRow {
  user_id: string;
  purpose: string;
  code_hash: string;
  created_at: number;
  expires_at: number;
  data: string | null;
}

const toCode = (r: CodeRow): CodeRecord => ({
  userId: r.user_id,
  purpose: r.purpose as CodePurpose,
  codeHash: r.code_hash,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
  data: r.data,
});

const COLUMNS = 'user_id, purpose, code_hash, created_at, expires_at, data';

/** Builds the SQLite code store; statements are prepared once, here. */
export function sqliteCodeStore(ctx: SqliteContext): CodeStore {
  const { db, guard } = ctx;
  const insert = db.prepare(`INSERT INTO codes (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  const removeForUser = db.prepare('DELETE FROM codes WHERE user_id = ? AND purpose = ?');
  const findActive = db.prepare<[string, string, number], CodeRow>(
    `SELECT ${COLUMNS} FROM codes WHERE user_id = ? AND purpose = ? AND expires_at > ?
     ORDER BY created_at DESC, id DESC LIMIT 1`,
  );
  const consumeForUser = db.prepare<[string, string, string, number], CodeRow>(
    `DELETE FROM codes WHERE id = (
       SELECT id FROM codes WHERE user_id = ? AND purpose = ? AND code_hash = ? AND expires_at > ?
       ORDER BY id LIMIT 1)
     RETURNING ${COLUMNS}`,
  );
  const consumeAny = db.prepare<[string, string, number], CodeRow>(
    `DELETE FROM codes WHERE id = (
       SELECT id FROM codes WHERE purpose = ? AND code_hash = ? AND expires_at > ?
       ORDER BY id LIMIT 1)
     RETURNING ${COLUMNS}`,
  );
  const removeExpired = db.prepare('DELETE FROM codes WHERE expires_at <= ?');

  const put = db.transaction((rec: CodeRecord): void => {
    // Only the latest email code is valid: asking again invalidates the previous one.
    if (rec.purpose === 'email-2fa') removeForUser.run(rec.userId, rec.purpose);
    insert.run(rec.userId, rec.purpose, rec.codeHash, rec.createdAt.getTime(), rec.expiresAt.getTime(), rec.data);
  });

  return {
    async put(rec) {
      guard(() => put.immediate(rec), rec.userId);
    },
    async findActive(userId, purpose, now) {
      return guard(() => {
        const row = findActive.get(userId, purpose, now.getTime());
        return row ? toCode(row) : null;
      });
    },
    async consume(userId, purpose, codeHash, now) {
      return guard(() => {
        const row =
          userId === null
            ? consumeAny.get(purpose, codeHash, now.getTime())
            : consumeForUser.get(userId, purpose, codeHash, now.getTime());
        return row ? toCode(row) : null;
      });
    },
    async removeForUser(userId, purpose) {
      return guard(() => removeForUser.run(userId, purpose).changes);
    },
    async removeExpired(now) {
      return guard(() => removeExpired.run(now.getTime()).changes);
    },
  };
}
