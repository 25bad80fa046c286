/**
 * The user's own security log: their audit entries as the account page shows them, newest
 * first and paged. The same records `ddp-guard audit` shows the administrator, minus what is
 * not the user's business or not safe to hand out: only detail fields named here, and only
 * plain values, so no code, token or hash can reach the page even if a future audit call
 * recorded one.
 */
import type { AuditRecord, AuditStore } from '../storage/contract.js';
import { summariseUserAgent } from './user-agent.js';
import type { SecurityLogEntry, SecurityLogPage } from '../../protocol/account.js';

/** Detail fields the page may show; anything else recorded stays with the administrator. */
export const SHOWN_DETAILS: readonly string[] = Object.freeze([
  'factor', 'via', 'twoFactor', 'name', 'bypassTwoFactor', 'lockedUntil', 'lockCount', 'locked', 'until', 'sessionId', 'count',
]);

/** Entries per page the page asks for, and the most one call returns. */
export const SECURITY_LOG_PAGE = 20;
export const SECURITY_LOG_MAX_PAGE = 100;

function shownDetails(details: Record<string, unknown> | null): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (details === null) return out;
  for (const key of SHOWN_DETAILS) {
    const value = details[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}

export function securityLogEntryOf(record: AuditRecord): SecurityLogEntry {
  return {
    id: String(record.id),
    at: record.at,
    action: record.action,
    ip: record.clientAddress,
    userAgent: record.userAgent,
    device: summariseUserAgent(record.userAgent),
    details: shownDetails(record.details),
  };
}

/** One page of a user's entries, newest first. */
export async function readSecurityLog(audit: AuditStore, userId: string, offset: number, count: number): Promise<SecurityLogPage> {
  const size = Math.min(Math.max(1, count), SECURITY_LOG_MAX_PAGE);
  const from = Math.max(0, offset);
  // One more than asked: whether older entries follow, without counting them all.
  const records = await audit.list({ userId, newestFirst: true, offset: from, limit: size + 1 });
  const entries = records.slice(0, size).map(securityLogEntryOf);
  return { entries, offset: from, count: entries.length, hasMore: records.length > size };
}
