/**
 * PostgreSQL `CallResultStore`: an upsert that replaces only an expired entry, so claiming is
 * one statement, atomic across every process sharing the database.
 *
 * Its writes commit asynchronously (`synchronous_commit = off` for that statement's own
 * transaction, through `set_config(…, true)` in the statement): the commit returns without
 * waiting for the WAL flush, as the SQLite store's do with `synchronous = NORMAL`. A commit
 * is visible to every other session at once, so a ddp-guard process killed right after still
 * left it for the others; only a crash of PostgreSQL itself within `wal_writer_delay` (200 ms
 * by default, up to 3×) may forget the last ones, which costs a second run of a call re-sent
 * then (`npm run bench:call-memory -- --db postgres://…` shows the cost per call). Inside a
 * store transaction the statements run plainly: the setting would relax that whole
 * transaction's commit.
 * @module
 */
import type { CallClaim, CallResultStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface Row {
  claimed_at: Date;
  outcome: string | null;
}

const seen = (r: Row): CallClaim =>
  r.outcome === null ? { state: 'running', claimedAt: r.claimed_at } : { state: 'done', outcome: r.outcome };

/** Builds the PostgreSQL call-result store. */
export function pgCallResultStore(ctx: PgContext): CallResultStore {
  const { s } = ctx;
  /**
   * A `FROM` (or `USING`) item that turns off the WAL-flush wait of this statement's own
   * implicit transaction; nothing inside a store transaction.
   */
  const relaxed = (keyword: 'FROM' | 'USING'): string =>
    ctx.inTransaction() ? '' : ` ${keyword} (SELECT set_config('synchronous_commit', 'off', true)) AS relax`;
  const get = async (userId: string, seed: string, now: Date): Promise<Row | undefined> =>
    (await ctx.query<Row>(`SELECT claimed_at, outcome FROM ${s}.call_results WHERE user_id = $1 AND seed = $2 AND expires_at > $3`, [userId, seed, now])).rows[0];
  return {
    async claim(userId, seed, now, expiresAt) {
      // A live entry makes the upsert a no-op; it can expire or be pruned before it is read,
      // so try again (twice is plenty: it would have to vanish again within microseconds).
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await ctx.query(
          `INSERT INTO ${s}.call_results (user_id, seed, claimed_at, expires_at, outcome)
           SELECT $1::text, $2::text, $3::timestamptz, $4::timestamptz, NULL${relaxed('FROM')}
           ON CONFLICT (user_id, seed) DO UPDATE
             SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at, outcome = NULL
             WHERE ${s}.call_results.expires_at <= excluded.claimed_at`,
          [userId, seed, now, expiresAt],
        );
        if (r.rowCount === 1) return { state: 'claimed' };
        const row = await get(userId, seed, now);
        if (row) return seen(row);
      }
      return { state: 'running', claimedAt: now };
    },
    async get(userId, seed, now) {
      const row = await get(userId, seed, now);
      return row ? seen(row) : null;
    },
    async complete(userId, seed, outcome) {
      const r = await ctx.query(`UPDATE ${s}.call_results SET outcome = $3${relaxed('FROM')} WHERE user_id = $1 AND seed = $2 AND outcome IS NULL`, [userId, seed, outcome]);
      return r.rowCount === 1;
    },
    async release(userId, seed) {
      await ctx.query(`DELETE FROM ${s}.call_results${relaxed('USING')} WHERE user_id = $1 AND seed = $2 AND outcome IS NULL`, [userId, seed]);
    },
    async removeExpired(now) {
      const r = await ctx.query(`DELETE FROM ${s}.call_results WHERE expires_at <= $1`, [now]);
      return r.rowCount ?? 0;
    },
  };
}
