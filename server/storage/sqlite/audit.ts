/**
 * SQLite `AuditStore`.
 * @module
 */
import type { AuditRecord, AuditStore } from '../contract.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteContext } from './connection.js';

interface AuditRow {
  id: number;
  at: number;
  user_id: string | null;
  action: string;
  client_address: string | null;
  user_agent: string | null;
  details: string | null;
}

const toAudit = (r: AuditRow): AuditRecord => ({
  id: r.id,
  at: new Date(r.at),
  userId: r.user_id,
  action: r.action,
  clientAddress: r.client_address,
  userAgent: r.user_agent,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
});

/** Builds the SQLite audit store; statements are prepared once, here. */
export function sqliteAuditStore(ctx: SqliteContext): AuditStore {
  const { db, guard } = ctx;
  const append = db.prepare(
    `INSERT INTO audit (at, user_id, action, client_address, user_agent, details) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  // No `since`: the smallest safe integer (not 0, which would hide pre-1970 dates). LIMIT -1
  // means no limit in SQLite. One statement per filter and order, so the per-user query can use
  // the (user_id, at, id) index.
  const statements = new Map<string, Statement<unknown[], AuditRow>>();
  const statement = (byUser: boolean, newestFirst: boolean): Statement<unknown[], AuditRow> => {
    const key = `${byUser}:${newestFirst}`;
    let found = statements.get(key);
    if (!found) {
      const order = newestFirst ? 'at DESC, id DESC' : 'at, id';
      found = db.prepare<unknown[], AuditRow>(
        `SELECT * FROM audit WHERE ${byUser ? 'user_id = ? AND ' : ''}at >= ? ORDER BY ${order} LIMIT ? OFFSET ?`,
      );
      statements.set(key, found);
    }
    return found;
  };
  return {
    async append(rec) {
      guard(() =>
        append.run(
          rec.at.getTime(),
          rec.userId,
          rec.action,
          rec.clientAddress,
          rec.userAgent,
          rec.details === null ? null : JSON.stringify(rec.details),
        ),
      );
    },
    async list(query) {
      const since = query.since?.getTime() ?? Number.MIN_SAFE_INTEGER;
      const limit = query.limit === undefined ? -1 : Math.max(0, Math.floor(query.limit));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const byUser = query.userId !== undefined;
      const params = [...(byUser ? [query.userId] : []), since, limit, offset];
      return guard(() => statement(byUser, query.newestFirst === true).all(...params).map(toAudit));
    },
  };
}
