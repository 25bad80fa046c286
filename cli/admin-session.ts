/**
 * Opens what the `user` commands work on — the store named by `--db` and a password hasher at
 * the configured bcrypt cost — runs one command, and always closes both, so the process ends
 * on its own with the right exit status.
 * @module
 */
import { existsSync } from 'node:fs';
import type { AdminDeps } from '../server/accounts/admin.js';
import { createPasswordHasher } from '../server/security/password-hasher.js';
import { passwordPolicyOf } from '../server/accounts/password-policy.js';
import { systemClock } from '../server/runtime/clock.js';
import type { ServeConfig } from './config.js';
import { loadConfig } from './config-file.js';
import { databaseKind, databaseSpec, describeDatabase } from './database.js';
import { CliError, EXIT } from './exit-status.js';
import type { CliIo } from './io.js';

/** The flags every `user` command takes. */
// A type, not an interface: it must fit `ServeFlags`' index signature.
export type StoreFlags = {
  db?: string;
  config?: string;
};

/** An open store and hasher plus what the command may want to say about them. */
export interface AdminSession extends AdminDeps {
  config: ServeConfig;
  /** The database in words, e.g. `SQLite file /srv/data/ddp-guard.sqlite`. */
  database: string;
}

/**
 * Runs `command` on the configured database.
 * @param options.create whether a missing SQLite file may be created (only `user add`: any
 *   other command on a missing file is almost certainly a wrong `--db`).
 */
export async function withAdminSession<T>(
  io: CliIo,
  flags: StoreFlags,
  options: { create: boolean },
  command: (session: AdminSession) => Promise<T>,
): Promise<T> {
  const config = loadConfig(flags, io);
  const db = config.resolved.db;
  const spec = databaseSpec(db, io.cwd);
  const kind = databaseKind(db);
  if (kind === 'sqlite-file' && !options.create && !existsSync(spec)) {
    throw new CliError(
      `There is no database at ${spec}: point --db (or DDP_GUARD_DB) at the server's database, or create a user first with 'ddp-guard user add'.`,
      EXIT.usage,
    );
  }
  if (kind === 'memory' || kind === 'sqlite-memory') {
    io.err(`ddp-guard: warning: --db ${db} is a throw-away in-memory database; changes are lost when this command ends.`);
  }
  // Imported here so that `--help` and usage errors do not load the database drivers.
  const { openStore } = await import('../server/storage/open.js');
  const store = await openStore(spec);
  const hasher = createPasswordHasher({ cost: config.resolved.bcryptCost, size: 1 });
  try {
    const passwordPolicy = passwordPolicyOf(config.resolved);
    return await command({ store, hasher, clock: systemClock, passwordPolicy, config, database: describeDatabase(db, io.cwd) });
  } finally {
    await hasher.close();
    await store.close();
  }
}
