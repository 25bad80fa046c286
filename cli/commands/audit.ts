/**
 * `ddp-guard audit`: the security audit trail (factors enabled and disabled, tokens created
 * and removed, lock-outs, password changes...) read from the same `--db` as `serve`: time,
 * user, action, client address, user agent and details.
 * @module
 */
import type { Command } from 'commander';
import { findUser } from '../../server/accounts/admin.js';
import { AdminError } from '../../server/accounts/admin.js';
import type { AuditRecord, Store } from '../../server/storage/contract.js';
import { withAdminSession, type StoreFlags } from '../admin-session.js';
import { envVarName } from '../config-values.js';
import { DEFAULTS } from '../../server/services/options.js';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

/** The flags of `audit`. */
interface AuditFlags extends StoreFlags {
  user?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

/** Records shown when `--limit` is not given. */
const DEFAULT_LIMIT = 100;

const UNITS_MS: Readonly<Record<string, number>> = Object.freeze({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 });

/** Adds `audit` to the program. */
export function registerAudit(program: Command, io: CliIo): void {
  program
    .command('audit')
    .description('print the security audit trail (factors, tokens, lock-outs, passwords): who, when, from where')
    .option('--db <file|:memory:|memory|postgres://...>', `the database, as for serve (default ${envVarName('db')} or ${DEFAULTS.db})`)
    .option('--config <file>', 'JSON config file, as for serve')
    .option('--user <user>', "only this user's records (username, email when it contains @, or user id)")
    .option('--since <when>', 'only records from then on: an ISO date (2030-01-31, 2030-01-31T12:00:00Z) or an age (30m, 1h, 2d, 1w)')
    .option('--limit <n>', `show the n most recent records (default ${DEFAULT_LIMIT})`)
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: AuditFlags) => audit(io, flags));
}

async function audit(io: CliIo, flags: AuditFlags): Promise<void> {
  const now = Date.now();
  const since = flags.since === undefined ? undefined : parseSince(flags.since, now);
  const limit = flags.limit === undefined ? DEFAULT_LIMIT : parseLimit(flags.limit);
  await withAdminSession(io, flags, { create: false }, async (session) => {
    const { store } = session;
    let userId: string | undefined;
    let known = true;
    if (flags.user !== undefined) {
      const user = (await findUser(store, flags.user)) ?? (await store.users.findById(flags.user));
      // Records outlive their user: an unknown name may still be the id of a removed user.
      userId = user?.id ?? flags.user;
      known = user !== null;
    }
    const all = await store.audit.list({ ...(userId === undefined ? {} : { userId }), ...(since === undefined ? {} : { since }) });
    if (!known && all.length === 0) throw new AdminError('user-not-found', `no user '${flags.user ?? ''}' and no audit records with that user id`);
    const records = all.slice(-limit);
    const names = await usernames(store, records);
    if (flags.json) {
      const json = JSON.stringify(records.map((r) => ({ ...r, at: r.at.toISOString(), username: r.userId === null ? null : (names.get(r.userId) ?? null) })), null, 2);
      // JSON escapes C0 controls but not DEL and C1 (an 8-bit CSI is U+009B): those too.
      // eslint-disable-next-line no-control-regex
      io.out(json.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
      return;
    }
    if (records.length === 0) {
      io.out(`No audit records${flags.user === undefined ? '' : ` of ${flags.user}`}${since === undefined ? '' : ` since ${since.toISOString()}`} in the ${session.database}.`);
      return;
    }
    // User agents, token names and addresses come from clients: escaped, so a crafted one
    // cannot move the cursor, clear the screen or retitle the admin's terminal.
    const rows = records.map((r) => [
      r.at.toISOString(),
      r.userId === null ? '-' : (names.get(r.userId) ?? r.userId),
      r.action,
      r.clientAddress ?? '-',
      r.userAgent ?? '-',
      r.details === null ? '-' : JSON.stringify(r.details),
    ].map(escapeControls));
    for (const line of formatTable(['TIME', 'USER', 'ACTION', 'ADDRESS', 'USER AGENT', 'DETAILS'], rows)) io.out(line);
    if (all.length > records.length) io.err(`(${all.length - records.length} older record${all.length - records.length === 1 ? '' : 's'} not shown: use --limit or --since)`);
  });
}

/**
 * Text safe to print on a terminal: C0 and C1 control characters (ESC, BEL, CR, the 8-bit CSI…)
 * and DEL shown as `\xNN` / `\u{NNNN}` escapes, and the backslash doubled so an escape cannot
 * be forged.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Usernames of the records' users; removed users are left out. */
async function usernames(store: Store, records: readonly AuditRecord[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const id of new Set(records.map((r) => r.userId))) {
    if (id === null) continue;
    const user = await store.users.findById(id);
    if (user) names.set(id, user.username);
  }
  return names;
}

/** `--since`: an age such as `2d` (before `now`), or an ISO date. @throws CliError (exit 2). */
export function parseSince(text: string, now: number): Date {
  const age = /^(\d+)\s*([smhdw])$/i.exec(text.trim());
  if (age) return new Date(now - Number(age[1]) * UNITS_MS[age[2]!.toLowerCase()]!);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(ms)) throw new CliError(`--since takes an ISO date (2030-01-31 or 2030-01-31T12:00:00Z) or an age such as 30m, 1h, 2d or 1w; got '${text}'.`, EXIT.usage);
  return new Date(ms);
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new CliError(`--limit takes a whole number above 0; got '${text}'.`, EXIT.usage);
  return Number(text);
}
