/**
 * SQLite `AttemptStore`. `recordFailure` reads and writes inside one IMMEDIATE transaction:
 * the write lock is taken before the read, so no other connection can count in between.
 * @module
 */
import { nextAttemptState, visibleAttemptState } from '../attempt-policy.js';
import type { AttemptPolicy, AttemptState, AttemptStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface AttemptRow {
  failures: number;
  locked_until: number | null;
  lock_count: number;
}

const EMPTY: AttemptState = Object.freeze({ failures: 0, lockedUntil: null, lockCount: 0 });

const toState = (r: AttemptRow | undefined): AttemptState =>
  r
    ? {
        failures: r.failures,
        lockedUntil: r.locked_until === null ? null : new Date(r.locked_until),
        lockCount: r.lock_count,
      }
    : EMPTY;

/** Builds the SQLite attempt store; statements are prepared once, here. */
export function sqliteAttemptStore(ctx: SqliteContext): AttemptStore {
  const { db, guard } = ctx;
  const get = db.prepare<[string, string], AttemptRow>(
    'SELECT failures, locked_until, lock_count FROM attempts WHERE user_id = ? AND factor = ?',
  );
  const save = db.prepare(
    `INSERT INTO attempts (user_id, factor, failures, locked_until, lock_count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id, factor) DO UPDATE SET
       failures = excluded.failures, locked_until = excluded.locked_until, lock_count = excluded.lock_count`,
  );
  const reset = db.prepare('DELETE FROM attempts WHERE user_id = ? AND factor = ?');

  const record = db.transaction(
    (userId: string, factor: string, now: Date, policy: AttemptPolicy): AttemptState => {
      const next = nextAttemptState(toState(get.get(userId, factor)), now, policy);
      save.run(userId, factor, next.failures, next.lockedUntil?.getTime() ?? null, next.lockCount);
      return next;
    },
  );

  return {
    async get(userId, factor, now) {
      return guard(() => visibleAttemptState(toState(get.get(userId, factor)), now));
    },
    async recordFailure(userId, factor, now, policy) {
      return guard(() => visibleAttemptState(record.immediate(userId, factor, now, policy), now), userId);
    },
    async reset(userId, factor) {
      guard(() => reset.run(userId, factor));
    },
  };
}
