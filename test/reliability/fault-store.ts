/**
 * A store that fails on purpose: the k-th write while armed throws StoreUnavailableError (as
 * when SQLite stays locked or PostgreSQL drops the connection), either before the real write
 * or right after it (the write was made, its caller still sees a failure). It wraps every part
 * of a real store and shares the real store's `transaction`, so the writes an account change
 * makes inside a transaction go through it too and really fail there.
 */
import { StoreUnavailableError } from '../../server/storage/store-errors.js';
import type { Store } from '../../server/storage/contract.js';

/** Store methods that write. */
export const WRITES: ReadonlySet<string> = new Set([
  'create', 'setPasswordHash', 'setEmailVerified', 'remove', 'insert', 'removeForUser', 'removeExpired', 'setTrust', 'replace', 'touch',
  'setPendingTotpSecret', 'enableTotp', 'disableTotp', 'recordTotpStep', 'replaceBackupCodes', 'consumeBackupCode', 'setEmailEnabled',
  'put', 'consume', 'recordFailure', 'reset', 'append', 'remember', 'removeIdle', 'removeOlderThan',
]);

const PARTS = ['users', 'loginTokens', 'personalTokens', 'twoFactor', 'codes', 'attempts', 'addressAttempts', 'knownAddresses', 'revocations', 'audit'] as const;

/** Where the injected failure happens relative to the real write. */
export type FaultMode = 'before' | 'after';

export class FaultyStore {
  readonly store: Store;
  failAt = 0;
  mode: FaultMode = 'before';
  /** The writes seen while armed, as `part.method`. */
  seen: string[] = [];
  private armed = false;

  constructor(readonly inner: Store) {
    const wrap = <T extends object>(part: T, partName: string): T => new Proxy(part, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string' || !WRITES.has(key)) return value;
        return async (...args: unknown[]) => {
          const fails = this.armed && this.seen.push(`${partName}.${key}`) === this.failAt;
          const injected = new StoreUnavailableError(`injected failure ${this.mode} ${partName}.${key}`);
          if (fails && this.mode === 'before') throw injected;
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (fails) throw injected;
          return result;
        };
      },
    });
    const store = { ...inner } as Record<string, unknown>;
    for (const p of PARTS) store[p] = wrap(inner[p], p);
    store.transaction = <T>(fn: () => Promise<T>): Promise<T> => inner.transaction(fn);
    store.ping = () => inner.ping();
    store.close = () => inner.close();
    this.store = store as unknown as Store;
  }

  /** Run `fn` with the k-th write failing (k = 0: none fails, just count). */
  async during<T>(failAt: number, mode: FaultMode, fn: () => Promise<T>): Promise<T> {
    this.failAt = failAt;
    this.mode = mode;
    this.seen = [];
    this.armed = true;
    try {
      return await fn();
    } finally {
      this.armed = false;
    }
  }
}
