/**
 * SQLite `KnownAddressStore` and `RevocationStore` (the feed its triggers write).
 * @module
 */
import type { KnownAddressStore, RevocationStore, RevokedToken } from '../contract.js';
import type { SqliteContext } from './connection.js';

/** Builds the SQLite known-address store. */
export function sqliteKnownAddressStore(ctx: SqliteContext): KnownAddressStore {
  const { db, guard } = ctx;
  const remember = db.prepare(
    `INSERT INTO known_addresses (user_id, address_key, last_success_at) VALUES (?, ?, ?)
     ON CONFLICT (user_id, address_key) DO UPDATE SET last_success_at = max(last_success_at, excluded.last_success_at)`,
  );
  const last = db.prepare<[string, string], { last_success_at: number }>(
    'SELECT last_success_at FROM known_addresses WHERE user_id = ? AND address_key = ?',
  );
  return {
    async remember(userId, addressKey, at) {
      guard(() => remember.run(userId, addressKey, at.getTime()), userId);
    },
    async lastSuccess(userId, addressKey) {
      return guard(() => {
        const row = last.get(userId, addressKey);
        return row ? new Date(row.last_success_at) : null;
      });
    },
  };
}

/**
 * Builds the SQLite revocation feed. SQLite has one writer at a time and `seq` grows with each
 * commit, so `seq > afterSeq` misses nothing.
 */
export function sqliteRevocationStore(ctx: SqliteContext): RevocationStore {
  const { db, guard } = ctx;
  const latest = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM revoked_tokens');
  const since = db.prepare<[number, number], { seq: number; hashed_token: string; at: number }>(
    'SELECT seq, hashed_token, at FROM revoked_tokens WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const prune = db.prepare('DELETE FROM revoked_tokens WHERE at < ?');
  return {
    async latestSeq() {
      return guard(() => latest.get()?.seq ?? 0);
    },
    async since(afterSeq, limit) {
      return guard(() =>
        since.all(afterSeq, limit).map((r): RevokedToken => ({ seq: r.seq, hashedToken: r.hashed_token, at: new Date(r.at) })),
      );
    },
    async removeOlderThan(before) {
      return guard(() => prune.run(before.getTime()).changes);
    },
  };
}
