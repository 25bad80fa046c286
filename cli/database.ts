/**
 * The `--db` value as people read it, and as the store opens it: a SQLite file (resolved
 * against the working directory), SQLite in memory, the in-process store or a PostgreSQL URL.
 * @module
 */
import path from 'node:path';
import { redactUrl } from '../server/security/redact-url.js';

/** What kind of database a `--db` value names. */
export type DatabaseKind = 'sqlite-file' | 'sqlite-memory' | 'memory' | 'postgres';

/** The kind of database `spec` names. */
export function databaseKind(spec: string): DatabaseKind {
  const trimmed = spec.trim();
  if (trimmed === 'memory') return 'memory';
  if (trimmed === ':memory:') return 'sqlite-memory';
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return 'postgres';
  return 'sqlite-file';
}

/** The spec to open: a SQLite file path made absolute against `cwd`; anything else unchanged. */
export function databaseSpec(spec: string, cwd: string): string {
  return databaseKind(spec) === 'sqlite-file' ? path.resolve(cwd, spec.trim()) : spec.trim();
}

/** One phrase for logs and start-up lines; a URL's password is never shown. */
export function describeDatabase(spec: string, cwd: string): string {
  switch (databaseKind(spec)) {
    case 'memory':
      return 'in-process memory store (data is lost on exit)';
    case 'sqlite-memory':
      return 'SQLite in memory (data is lost on exit)';
    case 'postgres':
      return `PostgreSQL ${redactUrl(spec.trim())}`;
    case 'sqlite-file':
      return `SQLite file ${databaseSpec(spec, cwd)}`;
  }
}

/** Where mail goes: the SMTP server (without its password) or the outbox folder. */
export function describeMail(smtpUrl: string | null, outboxDir: string, cwd: string): string {
  return smtpUrl === null ? `mail to the outbox ${path.resolve(cwd, outboxDir)}` : `mail via ${redactUrl(smtpUrl)}`;
}

