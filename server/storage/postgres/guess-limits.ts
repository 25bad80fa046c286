/**
 * PostgreSQL `KnownAddressStore` and `RevocationStore` (the feed its triggers write).
 * @module
 */
import { REVOCATION_OVERLAP_MS, type KnownAddressStore, type RevocationStore } from '../contract.js';
import type { PgContext } from './connection.js';

/** Builds the PostgreSQL known-address store. */
export function pgKnownAddressStore(ctx: PgContext): KnownAddressStore {
  const { s } = ctx;
  return {
    async remember(userId, addressKey, at) {
      await ctx.query(
        `INSERT INTO ${s}.known_addresses (user_id, address_key, last_success_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, address_key) DO UPDATE
           SET last_success_at = greatest(${s}.known_addresses.last_success_at, excluded.last_success_at)`,
        [userId, addressKey, at],
        userId,
      );
    },
    async lastSuccess(userId, addressKey) {
      const { rows } = await ctx.query<{ last_success_at: Date }>(
        `SELECT last_success_at FROM ${s}.known_addresses WHERE user_id = $1 AND address_key = $2`,
        [userId, addressKey],
      );
      return rows[0]?.last_success_at ?? null;
    },
  };
}

/**
 * Builds the PostgreSQL revocation feed. Identity values are handed out when a row is written,
 * not when its transaction commits, so a row with a smaller `seq` can become visible after a
 * larger one was read: every read also returns the rows written shortly before the cursor's.
 */
export function pgRevocationStore(ctx: PgContext): RevocationStore {
  const { s } = ctx;
  return {
    async latestSeq() {
      const { rows } = await ctx.query<{ seq: string | null }>(`SELECT max(seq) AS seq FROM ${s}.revoked_tokens`);
      return rows[0]?.seq == null ? 0 : Number(rows[0].seq);
    },
    async since(afterSeq, limit) {
      const { rows } = await ctx.query<{ seq: string; hashed_token: string; at: Date }>(
        `(SELECT seq, hashed_token, at FROM ${s}.revoked_tokens WHERE seq > $1 ORDER BY seq LIMIT $2)
         UNION ALL
         (SELECT seq, hashed_token, at FROM ${s}.revoked_tokens
          WHERE seq <= $1 AND at >= coalesce((SELECT at FROM ${s}.revoked_tokens WHERE seq = $1), now())
                                    - $3 * interval '1 millisecond')
         ORDER BY seq`,
        [afterSeq, limit, REVOCATION_OVERLAP_MS],
      );
      return rows.map((r) => ({ seq: Number(r.seq), hashedToken: r.hashed_token, at: r.at }));
    },
    async removeOlderThan(before) {
      const r = await ctx.query(`DELETE FROM ${s}.revoked_tokens WHERE at < $1`, [before]);
      return r.rowCount ?? 0;
    },
  };
}
