/**
 * PostgreSQL `PasskeyStore` and `WebAuthnChallengeStore`. The counter update and the
 * challenge's single use are each one conditional statement: a concurrent second writer waits
 * for the first row lock, then sees the new counter (or no row) and changes nothing.
 * @module
 */
import type { PasskeyRecord, PasskeyStore, WebAuthnCeremony, WebAuthnChallengeRecord, WebAuthnChallengeStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface PasskeyRow {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  counter: string;
  transports: string[];
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

const toPasskey = (r: PasskeyRow): PasskeyRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: r.transports,
  backedUp: r.backed_up,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

const COLUMNS = 'id, user_id, name, public_key, counter, transports, backed_up, created_at, last_used_at';

/** Builds the PostgreSQL passkey store. */
export function pgPasskeyStore(ctx: PgContext): PasskeyStore {
  const { s } = ctx;
  return {
    async insert(rec) {
      await ctx.query(
        `INSERT INTO ${s}.passkeys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [rec.id, rec.userId, rec.name, rec.publicKey, rec.counter, JSON.stringify(rec.transports), rec.backedUp, rec.createdAt, rec.lastUsedAt],
        rec.userId,
      );
    },
    async find(id) {
      const { rows } = await ctx.query<PasskeyRow>(`SELECT ${COLUMNS} FROM ${s}.passkeys WHERE id = $1`, [id]);
      return rows[0] ? toPasskey(rows[0]) : null;
    },
    async list(userId) {
      const { rows } = await ctx.query<PasskeyRow>(`SELECT ${COLUMNS} FROM ${s}.passkeys WHERE user_id = $1 ORDER BY created_at, seq`, [userId]);
      return rows.map(toPasskey);
    },
    async rename(userId, id, name) {
      const r = await ctx.query(`UPDATE ${s}.passkeys SET name = $1 WHERE user_id = $2 AND id = $3`, [name, userId, id]);
      return r.rowCount === 1;
    },
    async remove(userId, id) {
      const r = await ctx.query(`DELETE FROM ${s}.passkeys WHERE user_id = $1 AND id = $2`, [userId, id]);
      return r.rowCount === 1;
    },
    async removeForUser(userId) {
      const r = await ctx.query(`DELETE FROM ${s}.passkeys WHERE user_id = $1`, [userId]);
      return r.rowCount ?? 0;
    },
    async recordUse(userId, id, counter, now) {
      const r = await ctx.query(
        `UPDATE ${s}.passkeys SET counter = $1, last_used_at = $2
         WHERE user_id = $3 AND id = $4 AND (counter < $1 OR (counter = 0 AND $1 = 0))`,
        [counter, now, userId, id],
      );
      if (r.rowCount === 1) return 'ok';
      const found = await ctx.query(`SELECT 1 FROM ${s}.passkeys WHERE user_id = $1 AND id = $2`, [userId, id]);
      return found.rowCount === 1 ? 'regressed' : 'missing';
    },
  };
}

interface ChallengeRow {
  challenge: string;
  ceremony: string;
  user_id: string | null;
  binding: string | null;
  created_at: Date;
  expires_at: Date;
}

const toChallenge = (r: ChallengeRow): WebAuthnChallengeRecord => ({
  challenge: r.challenge,
  ceremony: r.ceremony as WebAuthnCeremony,
  userId: r.user_id,
  binding: r.binding,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

const CHALLENGE_COLUMNS = 'challenge, ceremony, user_id, binding, created_at, expires_at';

/** Builds the PostgreSQL challenge store. */
export function pgWebAuthnChallengeStore(ctx: PgContext): WebAuthnChallengeStore {
  const { s } = ctx;
  return {
    async put(rec) {
      await ctx.query(
        `INSERT INTO ${s}.webauthn_challenges (${CHALLENGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
        [rec.challenge, rec.ceremony, rec.userId, rec.binding, rec.createdAt, rec.expiresAt],
        rec.userId ?? undefined,
      );
    },
    async consume(challenge, ceremony, owner, now) {
      const { rows } = await ctx.query<ChallengeRow>(
        `DELETE FROM ${s}.webauthn_challenges WHERE id = (
           SELECT id FROM ${s}.webauthn_challenges
           WHERE challenge = $1 AND ceremony = $2 AND user_id IS NOT DISTINCT FROM $3::text
             AND binding IS NOT DISTINCT FROM $4::text AND expires_at > $5
           ORDER BY id LIMIT 1)
         RETURNING ${CHALLENGE_COLUMNS}`,
        [challenge, ceremony, owner.userId, owner.binding, now],
      );
      return rows[0] ? toChallenge(rows[0]) : null;
    },
    async removeExpired(now) {
      const r = await ctx.query(`DELETE FROM ${s}.webauthn_challenges WHERE expires_at <= $1`, [now]);
      return r.rowCount ?? 0;
    },
  };
}
