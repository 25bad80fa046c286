/**
 * PostgreSQL `LoginTokenStore` and `PersonalTokenStore`.
 * @module
 */
import type { LoginTokenRecord, LoginTokenStore, PersonalTokenRecord, PersonalTokenStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface LoginTokenRow {
  hashed_token: string;
  user_id: string;
  created_at: Date;
  expires_at: Date | null;
  trust_fingerprint: string | null;
  trust_until: Date | null;
  last_used_at: Date | null;
  client_address: string | null;
  user_agent: string | null;
}

interface PersonalTokenRow {
  hashed_token: string;
  user_id: string;
  name: string;
  bypass_two_factor: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

const toLoginToken = (r: LoginTokenRow): LoginTokenRecord => ({
  hashedToken: r.hashed_token,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  trust:
    r.trust_fingerprint === null || r.trust_until === null
      ? null
      : { fingerprint: r.trust_fingerprint, until: r.trust_until },
  lastUsedAt: r.last_used_at,
  clientAddress: r.client_address,
  userAgent: r.user_agent,
});

const toPersonalToken = (r: PersonalTokenRow): PersonalTokenRecord => ({
  hashedToken: r.hashed_token,
  userId: r.user_id,
  name: r.name,
  bypassTwoFactor: r.bypass_two_factor,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

const LOGIN_COLUMNS = 'hashed_token, user_id, created_at, expires_at, trust_fingerprint, trust_until, last_used_at, client_address, user_agent';
const PERSONAL_COLUMNS = 'hashed_token, user_id, name, bypass_two_factor, created_at, last_used_at';

const changed = (r: { rowCount: number | null }): number => r.rowCount ?? 0;

/** Builds the PostgreSQL login token store. */
export function pgLoginTokenStore(ctx: PgContext): LoginTokenStore {
  const { s } = ctx;
  return {
    async insert(rec) {
      await ctx.query(
        `INSERT INTO ${s}.login_tokens (hashed_token, user_id, created_at, expires_at, last_used_at, client_address, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [rec.hashedToken, rec.userId, rec.createdAt, rec.expiresAt, rec.lastUsedAt ?? null, rec.clientAddress ?? null, rec.userAgent ?? null],
        rec.userId,
      );
    },
    async listForUser(userId) {
      const { rows } = await ctx.query<LoginTokenRow>(
        `SELECT ${LOGIN_COLUMNS} FROM ${s}.login_tokens WHERE user_id = $1 ORDER BY created_at, seq`,
        [userId],
      );
      return rows.map(toLoginToken);
    },
    async touch(hashedToken, use) {
      const r = await ctx.query(
        `UPDATE ${s}.login_tokens SET last_used_at = $2, client_address = $3, user_agent = $4 WHERE hashed_token = $1`,
        [hashedToken, use.at, use.clientAddress, use.userAgent],
      );
      return changed(r) > 0;
    },
    async find(hashedToken) {
      const { rows } = await ctx.query<LoginTokenRow>(
        `SELECT ${LOGIN_COLUMNS} FROM ${s}.login_tokens WHERE hashed_token = $1`,
        [hashedToken],
      );
      return rows[0] ? toLoginToken(rows[0]) : null;
    },
    async remove(hashedToken) {
      return changed(await ctx.query(`DELETE FROM ${s}.login_tokens WHERE hashed_token = $1`, [hashedToken])) > 0;
    },
    async removeForUser(userId, exceptHashedToken) {
      return changed(
        exceptHashedToken === undefined
          ? await ctx.query(`DELETE FROM ${s}.login_tokens WHERE user_id = $1`, [userId])
          : await ctx.query(`DELETE FROM ${s}.login_tokens WHERE user_id = $1 AND hashed_token <> $2`, [
              userId,
              exceptHashedToken,
            ]),
      );
    },
    async removeExpired(now) {
      return changed(
        await ctx.query(`DELETE FROM ${s}.login_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1`, [now]),
      );
    },
    async setTrust(hashedToken, trust) {
      const r = await ctx.query(
        `UPDATE ${s}.login_tokens SET trust_fingerprint = $2, trust_until = $3 WHERE hashed_token = $1`,
        [hashedToken, trust?.fingerprint ?? null, trust?.until ?? null],
      );
      return changed(r) > 0;
    },
  };
}

/** Builds the PostgreSQL personal access token store. */
export function pgPersonalTokenStore(ctx: PgContext): PersonalTokenStore {
  const { s } = ctx;
  const findBy = async (where: string, params: unknown[]): Promise<PersonalTokenRecord | null> => {
    const { rows } = await ctx.query<PersonalTokenRow>(
      `SELECT ${PERSONAL_COLUMNS} FROM ${s}.personal_tokens WHERE ${where}`,
      params,
    );
    return rows[0] ? toPersonalToken(rows[0]) : null;
  };
  return {
    async insert(rec) {
      await ctx.query(
        `INSERT INTO ${s}.personal_tokens (${PERSONAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
        [rec.hashedToken, rec.userId, rec.name, rec.bypassTwoFactor, rec.createdAt, rec.lastUsedAt],
        rec.userId,
      );
    },
    find: (hashedToken) => findBy('hashed_token = $1', [hashedToken]),
    findByName: (userId, name) => findBy('user_id = $1 AND name = $2', [userId, name]),
    async list(userId) {
      const { rows } = await ctx.query<PersonalTokenRow>(
        `SELECT ${PERSONAL_COLUMNS} FROM ${s}.personal_tokens WHERE user_id = $1 ORDER BY created_at, seq`,
        [userId],
      );
      return rows.map(toPersonalToken);
    },
    async replace(userId, name, newHashedToken, now) {
      // One statement: the old hash stops working in the same instant the new one starts.
      const r = await ctx.query(
        `UPDATE ${s}.personal_tokens SET hashed_token = $3, created_at = $4, last_used_at = NULL
         WHERE user_id = $1 AND name = $2`,
        [userId, name, newHashedToken, now],
      );
      return changed(r) > 0;
    },
    async remove(userId, name) {
      return changed(await ctx.query(`DELETE FROM ${s}.personal_tokens WHERE user_id = $1 AND name = $2`, [userId, name])) > 0;
    },
    async touch(hashedToken, now) {
      return changed(
        await ctx.query(`UPDATE ${s}.personal_tokens SET last_used_at = $2 WHERE hashed_token = $1`, [hashedToken, now]),
      ) > 0;
    },
  };
}
