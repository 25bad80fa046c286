/**
 * SQLite `PasskeyStore` and `WebAuthnChallengeStore`. The counter update and the challenge's
 * single use are each one conditional statement, so they stay atomic across processes.
 * @module
 */
import type { PasskeyRecord, PasskeyStore, WebAuthnCeremony, WebAuthnChallengeRecord, WebAuthnChallengeStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface PasskeyRow {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  counter: number;
  transports: string;
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
}

const toPasskey = (r: PasskeyRow): PasskeyRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  publicKey: r.public_key,
  counter: r.counter,
  transports: JSON.parse(r.transports) as string[],
  backedUp: r.backed_up === 1,
  createdAt: new Date(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
});

const COLUMNS = 'id, user_id, name, public_key, counter, transports, backed_up, created_at, last_used_at';

/** Builds the SQLite passkey store; statements are prepared once, here. */
export function sqlitePasskeyStore(ctx: SqliteContext): PasskeyStore {
  const { db, guard } = ctx;
  const insert = db.prepare(`INSERT INTO passkeys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const find = db.prepare<[string], PasskeyRow>(`SELECT ${COLUMNS} FROM passkeys WHERE id = ?`);
  const list = db.prepare<[string], PasskeyRow>(`SELECT ${COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY created_at, rowid`);
  const rename = db.prepare('UPDATE passkeys SET name = ? WHERE user_id = ? AND id = ?');
  const remove = db.prepare('DELETE FROM passkeys WHERE user_id = ? AND id = ?');
  const removeForUser = db.prepare('DELETE FROM passkeys WHERE user_id = ?');
  const use = db.prepare(
    `UPDATE passkeys SET counter = ?, last_used_at = ?
     WHERE user_id = ? AND id = ? AND (counter < ? OR (counter = 0 AND ? = 0))`,
  );
  const owned = db.prepare<[string, string], { id: string }>('SELECT id FROM passkeys WHERE user_id = ? AND id = ?');
  return {
    async insert(rec) {
      guard(() => insert.run(rec.id, rec.userId, rec.name, rec.publicKey, rec.counter, JSON.stringify(rec.transports),
        rec.backedUp ? 1 : 0, rec.createdAt.getTime(), rec.lastUsedAt?.getTime() ?? null), rec.userId);
    },
    async find(id) {
      return guard(() => {
        const row = find.get(id);
        return row ? toPasskey(row) : null;
      });
    },
    async list(userId) {
      return guard(() => list.all(userId).map(toPasskey));
    },
    async rename(userId, id, name) {
      return guard(() => rename.run(name, userId, id).changes === 1);
    },
    async remove(userId, id) {
      return guard(() => remove.run(userId, id).changes === 1);
    },
    async removeForUser(userId) {
      return guard(() => removeForUser.run(userId).changes);
    },
    async recordUse(userId, id, counter, now) {
      return guard(() => {
        if (use.run(counter, now.getTime(), userId, id, counter, counter).changes === 1) return 'ok';
        return owned.get(userId, id) ? 'regressed' : 'missing';
      });
    },
  };
}

interface ChallengeRow {
  challenge: string;
  ceremony: string;
  user_id: string | null;
  binding: string | null;
  created_at: number;
  expires_at: number;
}

const toChallenge = (r: ChallengeRow): WebAuthnChallengeRecord => ({
  challenge: r.challenge,
  ceremony: r.ceremony as WebAuthnCeremony,
  userId: r.user_id,
  binding: r.binding,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
});

const CHALLENGE_COLUMNS = 'challenge, ceremony, user_id, binding, created_at, expires_at';

/** Builds the SQLite challenge store. */
export function sqliteWebAuthnChallengeStore(ctx: SqliteContext): WebAuthnChallengeStore {
  const { db, guard } = ctx;
  const insert = db.prepare(`INSERT INTO webauthn_challenges (${CHALLENGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
  // `IS` compares NULL with NULL as equal: a sign-in challenge (no user) matches only a null user.
  const consume = db.prepare<[string, string, string | null, string | null, number], ChallengeRow>(
    `DELETE FROM webauthn_challenges WHERE id = (
       SELECT id FROM webauthn_challenges
       WHERE challenge = ? AND ceremony = ? AND user_id IS ? AND binding IS ? AND expires_at > ?
       ORDER BY id LIMIT 1)
     RETURNING ${CHALLENGE_COLUMNS}`,
  );
  const removeExpired = db.prepare('DELETE FROM webauthn_challenges WHERE expires_at <= ?');
  return {
    async put(rec) {
      guard(() => insert.run(rec.challenge, rec.ceremony, rec.userId, rec.binding, rec.createdAt.getTime(), rec.expiresAt.getTime()), rec.userId ?? undefined);
    },
    async consume(challenge, ceremony, owner, now) {
      return guard(() => {
        const row = consume.get(challenge, ceremony, owner.userId, owner.binding, now.getTime());
        return row ? toChallenge(row) : null;
      });
    },
    async removeExpired(now) {
      return guard(() => removeExpired.run(now.getTime()).changes);
    },
  };
}
