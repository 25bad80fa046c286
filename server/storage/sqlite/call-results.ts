/**
 * SQLite `CallResultStore`: an upsert that replaces only an expired entry, so claiming stays
 * atomic across processes sharing the file.
 *
 * Its writes commit with `synchronous = NORMAL` (the store's other writes use FULL): in WAL mode
 * that skips the fsync of each commit, two per remembered call (measured: a call took 3.5 ms with
 * them, 0.45 ms without, 0.17 ms with no call memory). They still survive the process being
 * killed; a power loss may forget the last ones, which costs only a second run of a call re-sent
 * then.
 * No transaction is open when they run (the store's serial gate makes these calls wait for it).
 * @module
 */
import type { CallClaim, CallResultStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface Row {
  claimed_at: number;
  outcome: string | null;
}

const seen = (r: Row): CallClaim =>
  r.outcome === null ? { state: 'running', claimedAt: new Date(r.claimed_at) } : { state: 'done', outcome: r.outcome };

/** Builds the SQLite call-result store. */
export function sqliteCallResultStore(ctx: SqliteContext): CallResultStore {
  const { db, guard } = ctx;
  const claim = db.prepare(
    `INSERT INTO call_results (user_id, seed, claimed_at, expires_at, outcome) VALUES (?, ?, ?, ?, NULL)
     ON CONFLICT (user_id, seed) DO UPDATE
       SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at, outcome = NULL
       WHERE call_results.expires_at <= excluded.claimed_at`,
  );
  const get = db.prepare<[string, string, number], Row>(
    'SELECT claimed_at, outcome FROM call_results WHERE user_id = ? AND seed = ? AND expires_at > ?',
  );
  const complete = db.prepare('UPDATE call_results SET outcome = ? WHERE user_id = ? AND seed = ? AND outcome IS NULL');
  const release = db.prepare('DELETE FROM call_results WHERE user_id = ? AND seed = ? AND outcome IS NULL');
  const prune = db.prepare('DELETE FROM call_results WHERE expires_at <= ?');
  // Prepared once: `db.pragma()` prepares its statement at every call, which costs as much as
  // the write itself (measured: 196 µs per toggled write against 86 µs prepared).
  const normal = db.prepare('PRAGMA synchronous = NORMAL');
  const full = db.prepare('PRAGMA synchronous = FULL');
  const relaxed = <T>(fn: () => T): T => {
    if (db.inTransaction) return fn();
    normal.run();
    try {
      return fn();
    } finally {
      full.run();
    }
  };
  return {
    async claim(userId, seed, now, expiresAt) {
      return guard(() => relaxed(() => {
        // One synchronous statement pair on this connection; the upsert alone decides.
        if (claim.run(userId, seed, now.getTime(), expiresAt.getTime()).changes === 1) return { state: 'claimed' };
        const row = get.get(userId, seed, now.getTime());
        // Gone between the two statements (another process pruned it): claim again.
        if (!row) return claim.run(userId, seed, now.getTime(), expiresAt.getTime()).changes === 1 ? { state: 'claimed' } : { state: 'running', claimedAt: now };
        return seen(row);
      }));
    },
    async get(userId, seed, now) {
      return guard(() => {
        const row = get.get(userId, seed, now.getTime());
        return row ? seen(row) : null;
      });
    },
    async complete(userId, seed, outcome) {
      return guard(() => relaxed(() => complete.run(outcome, userId, seed).changes === 1));
    },
    async release(userId, seed) {
      guard(() => relaxed(() => release.run(userId, seed)));
    },
    async removeExpired(now) {
      return guard(() => relaxed(() => prune.run(now.getTime()).changes));
    },
  };
}
