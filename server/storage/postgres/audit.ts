/**
 * PostgreSQL `AuditStore`.
 * @module
 */
import type { AuditRecord, AuditStore } from '../contract.js';
import type { PgContext } from './connection.js';

interface AuditRow {
  id: string;
  at: Date;
  user_id: string | null;
  action: string;
  client_address: string | null;
  user_agent: string | null;
  details: Record<string, unknown> | null;
}

const toAudit = (r: AuditRow): AuditRecord => ({
  // bigint arrives as a string; a log would need 2^53 entries to lose precision.
  id: Number(r.id),
  at: r.at,
  userId: r.user_id,
  action: r.action,
  clientAddress: r.client_address,
  userAgent: r.user_agent,
  details: r.details,
});

/** Builds the PostgreSQL audit store. */
export function pgAuditStore(ctx: PgContext): AuditStore {
  const { s } = ctx;
  return {
    async append(rec) {
      await ctx.query(
        `INSERT INTO ${s}.audit (at, user_id, action, client_address, user_agent, details)
         VALUES ($1, $2, $3, $4, $5, $6::json)`,
        [rec.at, rec.userId, rec.action, rec.clientAddress, rec.userAgent, rec.details === null ? null : JSON.stringify(rec.details)],
      );
    },
    async list(query) {
      // Only the filters given, so the planner can use the (user_id, at, id) or (at, id) index.
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.userId !== undefined) where.push(`user_id = $${params.push(query.userId)}`);
      if (query.since !== undefined) where.push(`at >= $${params.push(query.since)}`);
      // LIMIT NULL means no limit.
      const limit = query.limit === undefined ? null : Math.max(0, Math.floor(query.limit));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const order = query.newestFirst === true ? 'at DESC, id DESC' : 'at, id';
      const { rows } = await ctx.query<AuditRow>(
        `SELECT id, at, user_id, action, client_address, user_agent, details FROM ${s}.audit
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${order} LIMIT $${params.push(limit)} OFFSET $${params.push(offset)}`,
        params,
      );
      return rows.map(toAudit);
    },
  };
}
