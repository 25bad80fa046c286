/**
 * Storage layer: the contract, its errors and the stores.
 * @module
 */
export * from './contract.js';
export * from './store-errors.js';
export { createMemoryStore } from './memory/index.js';
export { createSqliteStore, DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from './sqlite/index.js';
export { openStore } from './open.js';
export { createPostgresStore, POSTGRES_DEFAULTS, type PostgresStoreOptions } from './postgres/index.js';
