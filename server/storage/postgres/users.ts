/**
 * PostgreSQL `UserStore`: users plus their ordered email addresses.
 * @module
 */
import type { EmailRecord, NewUser, UserRecord, UserStore } from '../contract.js';
import { StoreConflictError } from '../store-errors.js';
import { foldCase, randomId } from '../ids.js';
import type { PgContext } from './connection.js';
import { isUniqueViolation } from './pg-errors.js';

interface UserRow {
  id: string;
  username: string;
  password_hash: string | null;
  created_at: Date;
  profile: Record<string, unknown> | null;
  emails: EmailRecord[];
}

const toUser = (r: UserRow): UserRecord => {
  const user: UserRecord = {
    id: r.id,
    username: r.username,
    emails: r.emails.map((e) => ({ address: e.address, verified: e.verified })),
    passwordHash: r.password_hash,
    createdAt: r.created_at,
  };
  if (r.profile !== null) user.profile = r.profile;
  return user;
};

/** A fresh id colliding with a stored one is astronomically rare; retrying a few times is plenty. */
const ID_ATTEMPTS = 3;

/** Builds the PostgreSQL user store. */
export function pgUserStore(ctx: PgContext): UserStore {
  const { s } = ctx;
  // One statement, so the user and their emails come from one snapshot.
  const select = `SELECT u.id, u.username, u.password_hash, u.created_at, u.profile,
      coalesce((SELECT json_agg(json_build_object('address', e.address, 'verified', e.verified) ORDER BY e.position)
                FROM ${s}.user_emails e WHERE e.user_id = u.id), '[]'::json) AS emails
    FROM ${s}.users u`;
  const findOne = async (where: string, key: string): Promise<UserRecord | null> => {
    const { rows } = await ctx.query<UserRow>(`${select} WHERE ${where}`, [key]);
    return rows[0] ? toUser(rows[0]) : null;
  };

  const insert = async (input: NewUser, keys: string[]): Promise<UserRecord> => {
    const id = randomId();
    const createdAt = new Date(input.createdAt?.getTime() ?? Date.now());
    const profile = input.profile === undefined ? null : JSON.stringify(input.profile);
    await ctx.transaction(async (q) => {
      await q.query(
        `INSERT INTO ${s}.users (id, username, username_key, password_hash, created_at, profile)
         VALUES ($1, $2, $3, $4, $5, $6::json)`,
        [id, input.username, foldCase(input.username), input.passwordHash, createdAt, profile],
      );
      if (input.emails.length > 0) {
        await q.query(
          `INSERT INTO ${s}.user_emails (user_id, position, address, address_key, verified)
           SELECT $1, e.ord - 1, e.address, e.address_key, e.verified
           FROM unnest($2::text[], $3::text[], $4::boolean[]) WITH ORDINALITY AS e(address, address_key, verified, ord)`,
          [id, input.emails.map((e) => e.address), keys, input.emails.map((e) => e.verified)],
        );
      }
    });
    const user: UserRecord = {
      id,
      username: input.username,
      emails: input.emails.map((e) => ({ address: e.address, verified: e.verified })),
      passwordHash: input.passwordHash,
      createdAt,
    };
    if (profile !== null) user.profile = JSON.parse(profile) as Record<string, unknown>;
    return user;
  };

  return {
    async create(input) {
      const keys = input.emails.map((e) => foldCase(e.address));
      // The unique index would catch this too, but only after a round trip.
      if (new Set(keys).size !== keys.length) throw new StoreConflictError('email');
      for (let attempt = 1; ; attempt++) {
        try {
          return await insert(input, keys);
        } catch (err) {
          if (attempt < ID_ATTEMPTS && isUniqueViolation(err, 'users_pkey')) continue;
          throw err;
        }
      }
    },
    findById: (userId) => findOne('u.id = $1', userId),
    findByUsername: (username) => findOne('u.username_key = $1', foldCase(username)),
    findByEmail: (address) =>
      findOne(`u.id = (SELECT user_id FROM ${s}.user_emails WHERE address_key = $1)`, foldCase(address)),
    async list() {
      const { rows } = await ctx.query<UserRow>(`${select} ORDER BY u.created_at, u.seq`);
      return rows.map(toUser);
    },
    async setPasswordHash(userId, hash) {
      const r = await ctx.query(`UPDATE ${s}.users SET password_hash = $2 WHERE id = $1`, [userId, hash]);
      return (r.rowCount ?? 0) > 0;
    },
    async setEmailVerified(userId, address, verified) {
      const r = await ctx.query(
        `UPDATE ${s}.user_emails SET verified = $3 WHERE user_id = $1 AND address_key = $2`,
        [userId, foldCase(address), verified],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async remove(userId) {
      // ON DELETE CASCADE removes tokens, 2FA state, backup codes, codes and attempts.
      const r = await ctx.query(`DELETE FROM ${s}.users WHERE id = $1`, [userId]);
      return (r.rowCount ?? 0) > 0;
    },
  };
}
