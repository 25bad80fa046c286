/**
 * `Store.transaction` for the stores whose methods run synchronously in this process (memory,
 * SQLite): one transaction at a time, and while it is open, calls from outside it wait until it
 * ends — otherwise a rollback would undo their writes too, or they would see half of it. Calls
 * made inside it (found through AsyncLocalStorage, so the body simply uses the store) run at once.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from './contract.js';

/** How a store starts, commits and rolls back one transaction; each runs synchronously. */
export interface SerialTransactionHooks {
  begin(): void;
  commit(): void;
  rollback(): void;
}

/** The parts of a store (every field holding methods); `transaction` is added by {@link withSerialTransactions}. */
export type StoreParts = Omit<Store, 'transaction'>;

const PARTS = ['users', 'loginTokens', 'personalTokens', 'twoFactor', 'codes', 'attempts', 'addressAttempts', 'knownAddresses', 'revocations', 'audit', 'passkeys', 'webauthnChallenges', 'callResults'] as const;

/** One open transaction; `open` is false once it ended (a task it started may outlive it). */
interface Tx {
  open: boolean;
}

/**
 * Adds `transaction` to a store whose methods finish synchronously, and makes every method
 * wait while a transaction it is not part of is open.
 */
export function withSerialTransactions(parts: StoreParts, hooks: SerialTransactionHooks): Store {
  const context = new AsyncLocalStorage<Tx>();
  /** Resolves when the open transaction ends; null when none is open. */
  let ended: Promise<void> | null = null;
  const inside = (): boolean => context.getStore()?.open === true;

  const gate = <T extends object>(part: T): T => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(part) as (keyof T & string)[]) {
      const method = part[key];
      if (typeof method !== 'function') {
        out[key] = method;
        continue;
      }
      const call = (...args: unknown[]): unknown => (method as (...a: unknown[]) => unknown).apply(part, args);
      out[key] = (...args: unknown[]): unknown => {
        if (ended === null || inside()) return call(...args);
        return (async () => {
          while (ended !== null && !inside()) await ended;
          return call(...args);
        })();
      };
    }
    return out as T;
  };

  const store = { ...parts } as Record<string, unknown>;
  for (const p of PARTS) store[p] = gate(parts[p]);
  store.transaction = async <T>(fn: () => Promise<T>): Promise<T> => {
    // Nested: the outer transaction already makes it all-or-nothing.
    if (inside()) return fn();
    while (ended !== null) await ended;
    let end!: () => void;
    ended = new Promise<void>((resolve) => (end = resolve));
    const tx: Tx = { open: true };
    try {
      hooks.begin();
      try {
        const result = await context.run(tx, fn);
        hooks.commit();
        return result;
      } catch (err) {
        hooks.rollback();
        throw err;
      }
    } finally {
      tx.open = false;
      ended = null;
      // No transaction is open now (they run one at a time): switch the context off, so that
      // Node's promise hooks, which an enabled AsyncLocalStorage turns on for every promise of
      // the process, cost nothing between transactions. The next `run` turns it on again.
      context.disable();
      end();
    }
  };
  return store as unknown as Store;
}
