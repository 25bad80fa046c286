/**
 * PostgreSQL `AttemptStore` and `AddressAttemptStore`. `recordFailure` is one transaction that
 * creates the counter if needed, row-locks it (`FOR UPDATE`), applies `nextAttemptState` — the
 * schedule every store shares — and writes the result: concurrent failures from any number of
 * processes are counted one after the other and none is lost.
 * @module
 */
import { NO_ATTEMPTS, nextAttemptState, visibleAttemptState } from '../attempt-policy.js';
import type { AddressAttemptStore, AttemptPolicy, AttemptState, AttemptStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface AttemptRow {
  failures: number;
  locked_until: Date | null;
  lock_count: number;
  decay_from: Date | null;
}

const COLUMNS = 'failures, locked_until, lock_count, decay_from';

const toState = (r: AttemptRow | undefined): AttemptState =>
  r ? { failures: r.failures, lockedUntil: r.locked_until, lockCount: r.lock_count, decayFrom: r.decay_from } : NO_ATTEMPTS;

const values = (s: AttemptState): unknown[] => [s.failures, s.lockedUntil, s.lockCount, s.decayFrom];

/**
 * The counter store over one table: `key` names its key columns (`user_id, factor` or
 * `address_key`), whose values come first in every parameter list.
 */
function counters(ctx: PgContext, table: string, key: string[]) {
  const where = key.map((k, i) => `${k} = $${i + 1}`).join(' AND ');
  const n = key.length;
  const columns = `${key.join(', ')}, ${COLUMNS}`;
  return {
    async get(keyValues: unknown[], now: Date): Promise<AttemptState> {
      const { rows } = await ctx.query<AttemptRow>(`SELECT ${COLUMNS} FROM ${ctx.s}.${table} WHERE ${where}`, keyValues);
      return visibleAttemptState(toState(rows[0]), now);
    },
    async recordFailure(keyValues: unknown[], now: Date, policy: AttemptPolicy, userId?: string): Promise<AttemptState> {
      const next = await ctx.transaction(async (q) => {
        await q.query(
          `INSERT INTO ${ctx.s}.${table} (${columns}) VALUES (${key.map((_, i) => `$${i + 1}`).join(', ')}, 0, NULL, 0, NULL)
           ON CONFLICT DO NOTHING`,
          keyValues,
        );
        const { rows } = await q.query<AttemptRow>(`SELECT ${COLUMNS} FROM ${ctx.s}.${table} WHERE ${where} FOR UPDATE`, keyValues);
        const state = nextAttemptState(toState(rows[0]), now, policy);
        await q.query(
          `UPDATE ${ctx.s}.${table} SET failures = $${n + 1}, locked_until = $${n + 2}, lock_count = $${n + 3}, decay_from = $${n + 4}
           WHERE ${where}`,
          [...keyValues, ...values(state)],
        );
        return state;
      }, userId);
      return visibleAttemptState(next, now);
    },
    async reset(keyValues: unknown[]): Promise<void> {
      await ctx.query(`DELETE FROM ${ctx.s}.${table} WHERE ${where}`, keyValues);
    },
  };
}

/** Builds the PostgreSQL per-user attempt store. */
export function pgAttemptStore(ctx: PgContext): AttemptStore {
  const table = counters(ctx, 'attempts', ['user_id', 'factor']);
  return {
    get: (userId, factor, now) => table.get([userId, factor], now),
    recordFailure: (userId, factor, now, policy) => table.recordFailure([userId, factor], now, policy, userId),
    reset: (userId, factor) => table.reset([userId, factor]),
    async removeForUser(userId) {
      return (await ctx.query(`DELETE FROM ${ctx.s}.attempts WHERE user_id = $1`, [userId])).rowCount ?? 0;
    },
  };
}

/** Builds the PostgreSQL per-address attempt store. */
export function pgAddressAttemptStore(ctx: PgContext): AddressAttemptStore {
  const table = counters(ctx, 'address_attempts', ['address_key']);
  return {
    get: (addressKey, now) => table.get([addressKey], now),
    recordFailure: (addressKey, now, policy) => table.recordFailure([addressKey], now, policy),
    reset: (addressKey) => table.reset([addressKey]),
    async removeIdle(before) {
      const r = await ctx.query(
        `DELETE FROM ${ctx.s}.address_attempts
         WHERE greatest(coalesce(decay_from, '-infinity'), coalesce(locked_until, '-infinity')) < $1`,
        [before],
      );
      return r.rowCount ?? 0;
    },
  };
}
