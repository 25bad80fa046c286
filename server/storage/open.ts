/**
 * Picks a store from one string (the `--store` option / configuration value).
 * @module
 */
import type { Store } from './contract.js';
import { createMemoryStore } from './memory.js';
import { createSqliteStore } from './sqlite/index.js';

/**
 * Opens the store a spec names:
 * - `'memory'` → an in-memory store (data is lost on exit);
 * - `':memory:'` or a file path → SQLite;
 * - `postgres://…` / `postgresql://…` → not available yet (throws).
 *
 * @param spec the store spec
 * @param options.busyTimeoutMs SQLite lock wait, see `SqliteStoreOptions`
 */
export async function openStore(spec: string, options: { busyTimeoutMs?: number } = {}): Promise<Store> {
  const trimmed = spec.trim();
  if (trimmed === '') throw new Error('The store spec is empty: give a file path, ":memory:" or "memory"');
  if (trimmed === 'memory') return createMemoryStore();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    throw new Error(
      'PostgreSQL store not available yet: use a SQLite file path (the default) or "memory" for now',
    );
  }
  return createSqliteStore(
    options.busyTimeoutMs === undefined ? { file: trimmed } : { file: trimmed, busyTimeoutMs: options.busyTimeoutMs },
  );
}
