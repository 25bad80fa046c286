/**
 * SQLite `LoginTokenStore` and `PersonalTokenStore`.
 * @module
 */
import type {
  LoginTokenRecord,
  LoginTokenStore,
  PersonalTokenRecord,
  PersonalTokenStore,
} from '../contract.js';
import type { SqliteContext } from './connection.js';

interface LoginTokenRow {
  hashed_token: string;
  user_id: string;
  created_at: number;
  expires_at: number | null;
  trust_fingerprint: string | null;
  trust_until: number | null;
  last_used_at: number | null;
  client_address: string | null;
  user_agent: string | null;
}

interface PersonalTokenRow {
  hashed_token: string;
  user_id: string;
  name: string;
  bypass_two_factor: number;
  created_at: number;
  last_used_at: number | null;
}

const toLoginToken = (r: LoginTokenRow): LoginTokenRecord => ({
  hashedToken: r.hashed_token,
  userId: r.user_id,
  createdAt: new Date(r.created_at),
  expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
  trust:
    r.trust_fingerprint === null || r.trust_until === null
      ? null
      : { fingerprint: r.trust_fingerprint, until: new Date(r.trust_until) },
  lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  clientAddress: r.client_address,
  userAgent: r.user_agent,
});

const toPersonalToken = (r: PersonalTokenRow): PersonalTokenRecord => ({
  hashedToken: r.hashed_token,
  userId: r.user_id,
  name: r.name,
  bypassTwoFactor: r.bypass_two_factor === 1,
  createdAt: new Date(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
});

/** Builds the SQLite login token store; statements are prepared once, here. */
export function sqliteLoginTokenStore(ctx: SqliteContext): LoginTokenStore {
  const { db, guard } = ctx;
  const insert = db.prepare(
    `INSERT INTO login_tokens (hashed_token, user_id, created_at, expires_at, last_used_at, client_address, user_agent)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const find = db.prepare<[string], LoginTokenRow>('SELECT * FROM login_tokens WHERE hashed_token = ?');
  const listForUser = db.prepare<[string], LoginTokenRow>(
    'SELECT * FROM login_tokens WHERE user_id = ? ORDER BY created_at, rowid',
  );
  const touch = db.prepare(
    'UPDATE login_tokens SET last_used_at = ?, client_address = ?, user_agent = ? WHERE hashed_token = ?',
  );
  const remove = db.prepare('DELETE FROM login_tokens WHERE hashed_token = ?');
  const removeForUser = db.prepare('DELETE FROM login_tokens WHERE user_id = ?');
  const removeOthers = db.prepare('DELETE FROM login_tokens WHERE user_id = ? AND hashed_token <> ?');
  const removeExpired = db.prepare(
    'DELETE FROM login_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?',
  );
  const setTrust = db.prepare(
    'UPDATE login_tokens SET trust_fingerprint = ?, trust_until = ? WHERE hashed_token = ?',
  );
  return {
    async insert(rec) {
      guard(
        () =>
          insert.run(
            rec.hashedToken,
            rec.userId,
            rec.createdAt.getTime(),
            rec.expiresAt?.getTime() ?? null,
            rec.lastUsedAt?.getTime() ?? null,
            rec.clientAddress ?? null,
            rec.userAgent ?? null,
          ),
        rec.userId,
      );
    },
    async find(hashedToken) {
      return guard(() => {
        const row = find.get(hashedToken);
        return row ? toLoginToken(row) : null;
      });
    },
    async listForUser(userId) {
      return guard(() => listForUser.all(userId).map(toLoginToken));
    },
    async touch(hashedToken, use) {
      return guard(() => touch.run(use.at.getTime(), use.clientAddress, use.userAgent, hashedToken).changes > 0);
    },
    async remove(hashedToken) {
      return guard(() => remove.run(hashedToken).changes > 0);
    },
    async removeForUser(userId, exceptHashedToken) {
      return guard(() =>
        exceptHashedToken === undefined
          ? removeForUser.run(userId).changes
          : removeOthers.run(userId, exceptHashedToken).changes,
      );
    },
    async removeExpired(now) {
      return guard(() => removeExpired.run(now.getTime()).changes);
    },
    async setTrust(hashedToken, trust) {
      return guard(
        () => setTrust.run(trust?.fingerprint ?? null, trust?.until.getTime() ?? null, hashedToken).changes > 0,
      );
    },
  };
}

/** Builds the SQLite personal access token store; statements are prepared once, here. */
export function sqlitePersonalTokenStore(ctx: SqliteContext): PersonalTokenStore {
  const { db, guard } = ctx;
  const insert = db.prepare(
    `INSERT INTO personal_tokens (hashed_token, user_id, name, bypass_two_factor, created_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const find = db.prepare<[string], PersonalTokenRow>('SELECT * FROM personal_tokens WHERE hashed_token = ?');
  const findByName = db.prepare<[string, string], PersonalTokenRow>(
    'SELECT * FROM personal_tokens WHERE user_id = ? AND name = ?',
  );
  const list = db.prepare<[string], PersonalTokenRow>(
    'SELECT * FROM personal_tokens WHERE user_id = ? ORDER BY created_at, rowid',
  );
  // One statement: the old hash stops working in the same instant the new one starts.
  const replace = db.prepare(
    `UPDATE personal_tokens SET hashed_token = ?, created_at = ?, last_used_at = NULL
     WHERE user_id = ? AND name = ?`,
  );
  const remove = db.prepare('DELETE FROM personal_tokens WHERE user_id = ? AND name = ?');
  const touch = db.prepare('UPDATE personal_tokens SET last_used_at = ? WHERE hashed_token = ?');
  return {
    async insert(rec) {
      guard(
        () =>
          insert.run(
            rec.hashedToken,
            rec.userId,
            rec.name,
            rec.bypassTwoFactor ? 1 : 0,
            rec.createdAt.getTime(),
            rec.lastUsedAt?.getTime() ?? null,
          ),
        rec.userId,
      );
    },
    async find(hashedToken) {
      return guard(() => {
        const row = find.get(hashedToken);
        return row ? toPersonalToken(row) : null;
      });
    },
    async findByName(userId, name) {
      return guard(() => {
        const row = findByName.get(userId, name);
        return row ? toPersonalToken(row) : null;
      });
    },
    async list(userId) {
      return guard(() => list.all(userId).map(toPersonalToken));
    },
    async replace(userId, name, newHashedToken, now) {
      return guard(() => replace.run(newHashedToken, now.getTime(), userId, name).changes > 0);
    },
    async remove(userId, name) {
      return guard(() => remove.run(userId, name).changes > 0);
    },
    async touch(hashedToken, now) {
      return guard(() => touch.run(now.getTime(), hashedToken).changes > 0);
    },
  };
}
