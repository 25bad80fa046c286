/**
 * PostgreSQL `AttemptStore`. `recordFailure` is ONE `INSERT … ON CONFLICT DO UPDATE` that
 * computes the next state in SQL: the conflict branch row-locks the counter, so concurrent
 * failures from any number of processes are counted one after the other and none is lost.
 * @module
 */
import { visibleAttemptState } from '../attempt-policy.js';
import type { AttemptState, AttemptStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface AttemptRow {
  failures: number;
  locked_until: Date | null;
  lock_count: number;
}

const EMPTY: AttemptState = Object.freeze({ failures: 0, lockedUntil: null, lockCount: 0 });

const toState = (r: AttemptRow | undefined): AttemptState =>
  r ? { failures: r.failures, lockedUntil: r.locked_until, lockCount: r.lock_count } : EMPTY;

/** Same clamp as `attempt-policy.ts`: 2^40 × base is past any sensible cap already. */
const MAX_DOUBLINGS = 40;

/**
 * SQL for `nextAttemptState` (attempt-policy.ts) applied to the state in the given columns.
 * Parameters: $3 now, $4 maxFailures, $5 baseLockMs, $6 maxLockMs. The doubling runs in
 * float8, which is exact here: base × 2^k only moves the exponent. The test suite checks it
 * against `nextAttemptState` step by step.
 */
function nextStateSql(failures: string, lockedUntil: string, lockCount: string): [string, string, string] {
  const locks = `${failures} + 1 >= $4::int`;
  const lockMs = `LEAST($5::float8 * power(2::float8, LEAST(${lockCount}, ${MAX_DOUBLINGS})), $6::float8)`;
  return [
    `CASE WHEN ${locks} THEN 0 ELSE ${failures} + 1 END`,
    `CASE WHEN ${locks} THEN $3::timestamptz + ${lockMs} * interval '1 millisecond' ELSE ${lockedUntil} END`,
    `CASE WHEN ${locks} THEN ${lockCount} + 1 ELSE ${lockCount} END`,
  ];
}

/** Builds the PostgreSQL attempt store. */
export function pgAttemptStore(ctx: PgContext): AttemptStore {
  const { s } = ctx;
  const [firstFailures, firstLocked, firstCount] = nextStateSql('0', 'NULL::timestamptz', '0');
  const [failures, locked, count] = nextStateSql('a.failures', 'a.locked_until', 'a.lock_count');
  const record = `INSERT INTO ${s}.attempts AS a (user_id, factor, failures, locked_until, lock_count)
    VALUES ($1, $2, ${firstFailures}, ${firstLocked}, ${firstCount})
    ON CONFLICT (user_id, factor) DO UPDATE SET
      failures = ${failures}, locked_until = ${locked}, lock_count = ${count}
    RETURNING failures, locked_until, lock_count`;

  return {
    async get(userId, factor, now) {
      const { rows } = await ctx.query<AttemptRow>(
        `SELECT failures, locked_until, lock_count FROM ${s}.attempts WHERE user_id = $1 AND factor = $2`,
        [userId, factor],
      );
      return visibleAttemptState(toState(rows[0]), now);
    },
    async recordFailure(userId, factor, now, policy) {
      const { rows } = await ctx.query<AttemptRow>(
        record,
        [userId, factor, now, policy.maxFailures, policy.baseLockMs, policy.maxLockMs],
        userId,
      );
      return visibleAttemptState(toState(rows[0]), now);
    },
    async reset(userId, factor) {
      await ctx.query(`DELETE FROM ${s}.attempts WHERE user_id = $1 AND factor = $2`, [userId, factor]);
    },
  };
}
