/**
 * Opening a SQLite database with the settings the store depends on, and turning SQLite
 * errors into store errors.
 * @module
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  StoreConflictError,
  StoreNotFoundError,
  StoreUnavailableError,
  type ConflictField,
} from '../store-errors.js';
import { applyMigrations } from './migrations.js';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file path, or `':memory:'` for a private in-memory database. */
  file: string;
  /**
   * How long a write waits for another connection's lock before failing with
   * `StoreUnavailableError`. The wait blocks the event loop (better-sqlite3 is synchronous),
   * so keep it short.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** The default of {@link SqliteStoreOptions.busyTimeoutMs}. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** An open database plus what error messages need to say. */
export interface SqliteContext {
  readonly db: Database.Database;
  readonly file: string;
  readonly busyTimeoutMs: number;
  /**
   * Runs `fn`, translating SQLite failures into store errors. `userId` names the user a
   * foreign-key failure refers to.
   */
  guard<T>(fn: () => T, userId?: string): T;
}

const isMemory = (file: string): boolean => file === ':memory:' || file === '';

/**
 * Creates the database file readable by its owner only, before SQLite opens it: SQLite gives
 * the `-wal` and `-shm` files the database file's permissions. An existing file keeps its mode.
 */
function createFilePrivately(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Opens (creating if needed) the database and its parent directory, sets the pragmas and
 * runs pending migrations.
 * @throws StoreUnavailableError when the file cannot be opened or stays locked.
 */
export function openSqlite(options: SqliteStoreOptions): SqliteContext {
  const file = options.file;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  }
  const label = isMemory(file) ? ':memory:' : resolve(file);
  let db: Database.Database | undefined;
  if (!isMemory(file)) createFolder(label);
  try {
    if (!isMemory(file)) createFilePrivately(label);
    db = new Database(file, { timeout: busyTimeoutMs });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // WAL lets readers run while one writer writes; FULL syncs the WAL on every commit so an
    // acknowledged write survives a power cut (NORMAL may lose the last commits).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db);
  } catch (err) {
    db?.close();
    throw mapSqliteError(err, label, busyTimeoutMs);
  }
  const opened = db;
  return {
    db: opened,
    file: label,
    busyTimeoutMs,
    guard(fn, userId) {
      try {
        return fn();
      } catch (err) {
        throw mapSqliteError(err, label, busyTimeoutMs, userId);
      }
    },
  };
}

/**
 * Creates the database's folder. Its failure is said in one sentence naming the folder and
 * why (a file in the way, no permission), not as a bare `ENOTDIR` with a stack.
 */
function createFolder(file: string): void {
  const folder = dirname(file);
  try {
    // Readable by the owner only, as the database in it (folders that exist keep their mode).
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = FOLDER_ERRORS[code] ?? (err instanceof Error ? err.message : String(err));
    throw new StoreUnavailableError(`Cannot create the folder ${folder} for the SQLite database ${file}: ${why} (${code})`, { cause: err });
  }
}

const FOLDER_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  EACCES: 'this process may not write there',
  EPERM: 'this process may not write there',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
});

/** Which unique index a constraint message names → which field collided. */
const CONFLICT_COLUMNS: ReadonlyArray<[string, ConflictField]> = [
  ['users.username_key', 'username'],
  ['user_emails.address_key', 'email'],
  ['personal_tokens.user_id, personal_tokens.name', 'name'],
  ['login_tokens.hashed_token', 'token'],
  ['personal_tokens.hashed_token', 'token'],
  ['passkeys.id', 'credential'],
];

/** Extracts SQLite's extended result code (`SQLITE_BUSY_SNAPSHOT`…) from an error. */
function sqliteCode(err: unknown): string | null {
  if (err instanceof Database.SqliteError) return err.code;
  return null;
}

/**
 * Maps an error thrown by better-sqlite3 to a store error; anything unrecognised is returned
 * unchanged (a programming error should surface as itself).
 */
export function mapSqliteError(
  err: unknown,
  file: string,
  busyTimeoutMs: number,
  userId?: string,
): unknown {
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === null) {
    if (err instanceof TypeError && /database connection is not open/i.test(message)) {
      return new StoreUnavailableError(`The SQLite store (${file}) is closed; open it again`, { cause: err });
    }
    return err;
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError(
      `The SQLite database ${file} stayed locked by another connection for more than ` +
        `${busyTimeoutMs} ms (${code}); nothing was written. Retry later, and look for a ` +
        `process holding a long transaction on this file.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return new StoreUnavailableError(
      `Cannot open the SQLite database ${file} (${code}): check that the path exists and ` +
        `is readable and writable by this process.`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new StoreUnavailableError(
      `The file ${file} is not a SQLite database (${code}): point the database option at ` +
        `another path, or move that file away.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreUnavailableError(
      `The SQLite database ${file} is read-only (${code}): give this process write access ` +
        `to the file, its directory and its -wal/-shm files.`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new StoreUnavailableError(
      `Disk error on the SQLite database ${file} (${code}): check free space and the disk.`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' && userId !== undefined) {
    return new StoreNotFoundError(userId);
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const hit = CONFLICT_COLUMNS.find(([columns]) => message.includes(columns));
    if (hit) return new StoreConflictError(hit[1]);
  }
  return err;
}
