/**
 * Memory `CallResultStore`: one map, each method synchronous (so atomic on Node's one thread).
 * @module
 */
import type { CallClaim, CallResultStore } from '../contract.js';
import type { MemoryData } from './data.js';

interface Entry {
  claimedAt: number;
  expiresAt: number;
  outcome: string | null;
}

const keyOf = (userId: string, seed: string): string => `${userId}\u0000${seed}`;

const seen = (e: Entry): CallClaim =>
  e.outcome === null ? { state: 'running', claimedAt: new Date(e.claimedAt) } : { state: 'done', outcome: e.outcome };

/** Builds the memory call-result store (its map is its own: transactions do not roll it back). */
export function memoryCallResultStore(d: MemoryData): CallResultStore {
  const entries = new Map<string, Entry>();
  const live = (key: string, now: Date): Entry | undefined => {
    const e = entries.get(key);
    return e && e.expiresAt > now.getTime() ? e : undefined;
  };
  return {
    async claim(userId, seed, now, expiresAt) {
      d.check();
      const key = keyOf(userId, seed);
      const e = live(key, now);
      if (e) return seen(e);
      entries.set(key, { claimedAt: now.getTime(), expiresAt: expiresAt.getTime(), outcome: null });
      return { state: 'claimed' };
    },
    async get(userId, seed, now) {
      d.check();
      const e = live(keyOf(userId, seed), now);
      return e ? seen(e) : null;
    },
    async complete(userId, seed, outcome) {
      d.check();
      const e = entries.get(keyOf(userId, seed));
      if (!e || e.outcome !== null) return false;
      e.outcome = outcome;
      return true;
    },
    async release(userId, seed) {
      d.check();
      const key = keyOf(userId, seed);
      if (entries.get(key)?.outcome === null) entries.delete(key);
    },
    async removeExpired(now) {
      d.check();
      let n = 0;
      for (const [key, e] of entries) if (e.expiresAt <= now.getTime()) n += Number(entries.delete(key));
      return n;
    },
  };
}
