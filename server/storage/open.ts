/**
 * Picks a store from one string (the `--store` option / configuration value).
 * @module
 */
import type { Store } from './contract.js';
import { createMemoryStore } from './memory/index.js';
import { createPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
import { createSqliteStore } from './sqlite/index.js';

/** Options of {@link openStore}; each applies only to the kind of store it names. */
export interface OpenStoreOptions {
  /** SQLite lock wait, see `SqliteStoreOptions`. */
  busyTimeoutMs?: number;
  /** Pool size, timeouts and schema of a PostgreSQL store, see `PostgresStoreOptions`. */
  postgres?: Omit<PostgresStoreOptions, 'url'>;
}

/**
 * Opens the store a spec names:
 * - `'memory'` → an in-memory store (data is lost on exit);
 * - `':memory:'` or a file path → SQLite;
 * - `postgres://…` / `postgresql://…` → PostgreSQL. A `schema` query parameter
 *   (`postgres://host/db?schema=guard`) picks the schema, overriding `options.postgres.schema`;
 *   the other parameters (`sslmode`…) go to the driver.
 *
 * @param spec the store spec
 */
/** The spec names a PostgreSQL database (`postgres://…` or `postgresql://…`). */
export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec.trim());
}

export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<Store> {
  const trimmed = spec.trim();
  if (trimmed === '') throw new Error('The store spec is empty: give a file path, ":memory:" or "memory"');
  if (trimmed === 'memory') return createMemoryStore();
  if (isPostgresSpec(trimmed)) {
    const { url, schema } = splitSchemaParam(trimmed);
    const postgres = { ...options.postgres, url };
    return createPostgresStore(schema === null ? postgres : { ...postgres, schema });
  }
  return createSqliteStore(
    options.busyTimeoutMs === undefined ? { file: trimmed } : { file: trimmed, busyTimeoutMs: options.busyTimeoutMs },
  );
}

/** Takes the `schema` parameter out of a PostgreSQL URL (the driver does not know it). */
export function splitSchemaParam(spec: string): { url: string; schema: string | null } {
  let parsed: URL;
  try {
    parsed = new URL(spec);
  } catch {
    // Let the driver report what is wrong with it.
    return { url: spec, schema: null };
  }
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { url: spec, schema: null };
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}
