/**
 * SQLite `UserStore`: users plus their ordered email addresses.
 * @module
 */
import type { EmailRecord, UserRecord, UserStore } from '../contract.js';
import { StoreConflictError } from '../store-errors.js';
import { foldCase, randomId } from '../ids.js';
import type { SqliteContext } from './connection.js';

interface UserRow {
  id: string;
  username: string;
  password_hash: string | null;
  created_at: number;
  profile: string | null;
}

interface EmailRow {
  user_id: string;
  address: string;
  verified: number;
}

const USER_COLUMNS = 'id, username, password_hash, created_at, profile';

/** Builds the SQLite user store; statements are prepared once, here. */
export function sqliteUserStore(ctx: SqliteContext): UserStore {
  const { db, guard } = ctx;
  const insertUser = db.prepare(
    'INSERT INTO users (id, username, username_key, password_hash, created_at, profile) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertEmail = db.prepare(
    'INSERT INTO user_emails (user_id, position, address, address_key, verified) VALUES (?, ?, ?, ?, ?)',
  );
  const idTaken = db.prepare<[string], { id: string }>('SELECT id FROM users WHERE id = ?');
  const byId = db.prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
  const byName = db.prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username_key = ?`);
  const byEmail = db.prepare<[string], UserRow>(
    `SELECT ${USER_COLUMNS} FROM users WHERE id = (SELECT user_id FROM user_emails WHERE address_key = ?)`,
  );
  const all = db.prepare<[], UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, rowid`);
  const emailsOf = db.prepare<[string], EmailRow>(
    'SELECT user_id, address, verified FROM user_emails WHERE user_id = ? ORDER BY position',
  );
  const allEmails = db.prepare<[], EmailRow>('SELECT user_id, address, verified FROM user_emails ORDER BY user_id, position');
  const setHash = db.prepare('UPDATE users SET password_hash = ? WHERE id = ?');
  const setVerified = db.prepare('UPDATE user_emails SET verified = ? WHERE user_id = ? AND address_key = ?');
  // ON DELETE CASCADE removes tokens, 2FA state, backup codes, codes and attempts.
  const removeUser = db.prepare('DELETE FROM users WHERE id = ?');

  const toEmails = (rows: EmailRow[]): EmailRecord[] =>
    rows.map((e) => ({ address: e.address, verified: e.verified === 1 }));

  const toUser = (row: UserRow, emails: EmailRow[]): UserRecord => {
    const user: UserRecord = {
      id: row.id,
      username: row.username,
      emails: toEmails(emails),
      passwordHash: row.password_hash,
      createdAt: new Date(row.created_at),
    };
    if (row.profile !== null) user.profile = JSON.parse(row.profile) as Record<string, unknown>;
    return user;
  };

  // A read transaction so the user row and its emails come from one snapshot.
  const find = db.transaction((stmt: typeof byId, key: string): UserRecord | null => {
    const row = stmt.get(key);
    return row ? toUser(row, emailsOf.all(row.id)) : null;
  });

  // Two queries instead of one per user, in one snapshot.
  const listAll = db.transaction((): UserRecord[] => {
    const emails = new Map<string, EmailRow[]>();
    for (const e of allEmails.all()) {
      const list = emails.get(e.user_id);
      if (list) list.push(e);
      else emails.set(e.user_id, [e]);
    }
    return all.all().map((row) => toUser(row, emails.get(row.id) ?? []));
  });

  const create = db.transaction((input: Parameters<UserStore['create']>[0]): UserRecord => {
    const keys = input.emails.map((e) => foldCase(e.address));
    // The unique index would catch this too, but only with a less helpful message.
    if (new Set(keys).size !== keys.length) throw new StoreConflictError('email');
    let id = randomId();
    while (idTaken.get(id)) id = randomId();
    const createdAt = input.createdAt?.getTime() ?? Date.now();
    const profile = input.profile === undefined ? null : JSON.stringify(input.profile);
    insertUser.run(id, input.username, foldCase(input.username), input.passwordHash, createdAt, profile);
    input.emails.forEach((e, i) => insertEmail.run(id, i, e.address, keys[i], e.verified ? 1 : 0));
    const user: UserRecord = {
      id,
      username: input.username,
      emails: input.emails.map((e) => ({ address: e.address, verified: e.verified })),
      passwordHash: input.passwordHash,
      createdAt: new Date(createdAt),
    };
    if (profile !== null) user.profile = JSON.parse(profile) as Record<string, unknown>;
    return user;
  });

  return {
    async create(input) {
      return guard(() => create.immediate(input));
    },
    async findById(userId) {
      return guard(() => find(byId, userId));
    },
    async findByUsername(username) {
      return guard(() => find(byName, foldCase(username)));
    },
    async findByEmail(address) {
      return guard(() => find(byEmail, foldCase(address)));
    },
    async list() {
      return guard(() => listAll());
    },
    async setPasswordHash(userId, hash) {
      return guard(() => setHash.run(hash, userId).changes > 0);
    },
    async setEmailVerified(userId, address, verified) {
      return guard(() => setVerified.run(verified ? 1 : 0, userId, foldCase(address)).changes > 0);
    },
    async remove(userId) {
      return guard(() => removeUser.run(userId).changes > 0);
    },
  };
}
