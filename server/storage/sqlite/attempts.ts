/**
 * SQLite `AttemptStore` and `AddressAttemptStore`. `recordFailure` reads and writes inside one
 * IMMEDIATE transaction: the write lock is taken before the read, so no other connection can
 * count in between. The schedule itself is `nextAttemptState`, shared by every store.
 * @module
 */
import { NO_ATTEMPTS, nextAttemptState, visibleAttemptState } from '../attempt-policy.js';
import type { AddressAttemptStore, AttemptPolicy, AttemptState, AttemptStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface AttemptRow {
  failures: number;
  locked_until: number | null;
  lock_count: number;
  decay_from: number | null;
}

const COLUMNS = 'failures, locked_until, lock_count, decay_from';
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

const toState = (r: AttemptRow | undefined): AttemptState =>
  r ? { failures: r.failures, lockedUntil: date(r.locked_until), lockCount: r.lock_count, decayFrom: date(r.decay_from) } : NO_ATTEMPTS;

const toRow = (s: AttemptState): [number, number | null, number, number | null] =>
  [s.failures, s.lockedUntil?.getTime() ?? null, s.lockCount, s.decayFrom?.getTime() ?? null];

/** Builds the SQLite per-user attempt store; statements are prepared once, here. */
export function sqliteAttemptStore(ctx: SqliteContext): AttemptStore {
  const { db, guard } = ctx;
  const get = db.prepare<[string, string], AttemptRow>(`SELECT ${COLUMNS} FROM attempts WHERE user_id = ? AND factor = ?`);
  const save = db.prepare(
    `INSERT INTO attempts (user_id, factor, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, factor) DO UPDATE SET failures = excluded.failures,
       locked_until = excluded.locked_until, lock_count = excluded.lock_count, decay_from = excluded.decay_from`,
  );
  const reset = db.prepare('DELETE FROM attempts WHERE user_id = ? AND factor = ?');
  const removeForUser = db.prepare('DELETE FROM attempts WHERE user_id = ?');
  const record = db.transaction((userId: string, factor: string, now: Date, policy: AttemptPolicy): AttemptState => {
    const next = nextAttemptState(toState(get.get(userId, factor)), now, policy);
    save.run(userId, factor, ...toRow(next));
    return next;
  });
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
    async removeForUser(userId) {
      return guard(() => removeForUser.run(userId).changes);
    },
  };
}

/** Builds the SQLite per-address attempt store. */
export function sqliteAddressAttemptStore(ctx: SqliteContext): AddressAttemptStore {
  const { db, guard } = ctx;
  const get = db.prepare<[string], AttemptRow>(`SELECT ${COLUMNS} FROM address_attempts WHERE address_key = ?`);
  const save = db.prepare(
    `INSERT INTO address_attempts (address_key, ${COLUMNS}) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (address_key) DO UPDATE SET failures = excluded.failures,
       locked_until = excluded.locked_until, lock_count = excluded.lock_count, decay_from = excluded.decay_from`,
  );
  const reset = db.prepare('DELETE FROM address_attempts WHERE address_key = ?');
  const removeIdle = db.prepare(
    'DELETE FROM address_attempts WHERE max(coalesce(decay_from, 0), coalesce(locked_until, 0)) < ?',
  );
  const record = db.transaction((addressKey: string, now: Date, policy: AttemptPolicy): AttemptState => {
    const next = nextAttemptState(toState(get.get(addressKey)), now, policy);
    save.run(addressKey, ...toRow(next));
    return next;
  });
  return {
    async get(addressKey, now) {
      return guard(() => visibleAttemptState(toState(get.get(addressKey)), now));
    },
    async recordFailure(addressKey, now, policy) {
      return guard(() => visibleAttemptState(record.immediate(addressKey, now, policy), now));
    },
    async reset(addressKey) {
      guard(() => reset.run(addressKey));
    },
    async removeIdle(before) {
      return guard(() => removeIdle.run(before.getTime()).changes);
    },
  };
}
