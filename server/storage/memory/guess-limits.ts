/**
 * Memory `AddressAttemptStore`, `KnownAddressStore` and `RevocationStore`.
 * @module
 */
import { NO_ATTEMPTS, nextAttemptState, visibleAttemptState } from '../attempt-policy.js';
import type { AddressAttemptStore, KnownAddressStore, RevocationStore } from '../contract.js';
import { attemptKey, copy, type MemoryData } from './data.js';

/** Per-address counters over the shared maps. */
export function memoryAddressAttemptStore(d: MemoryData): AddressAttemptStore {
  return {
    async get(addressKey, now) {
      d.check();
      return visibleAttemptState(d.addressAttempts.get(addressKey) ?? NO_ATTEMPTS, now);
    },
    async recordFailure(addressKey, now, policy) {
      d.check();
      const next = nextAttemptState(d.addressAttempts.get(addressKey) ?? NO_ATTEMPTS, now, policy);
      d.addressAttempts.set(addressKey, next);
      return visibleAttemptState(next, now);
    },
    async reset(addressKey) {
      d.check();
      d.addressAttempts.delete(addressKey);
    },
    async removeIdle(before) {
      d.check();
      let n = 0;
      for (const [key, state] of d.addressAttempts) {
        const last = Math.max(state.decayFrom?.getTime() ?? 0, state.lockedUntil?.getTime() ?? 0);
        if (last < before.getTime()) n += Number(d.addressAttempts.delete(key));
      }
      return n;
    },
  };
}

/** Known sign-in addresses over the shared maps. */
export function memoryKnownAddressStore(d: MemoryData): KnownAddressStore {
  return {
    async remember(userId, addressKey, at) {
      d.requireUser(userId);
      const key = attemptKey(userId, addressKey);
      const last = d.knownAddresses.get(key)?.getTime() ?? -Infinity;
      d.knownAddresses.set(key, new Date(Math.max(last, at.getTime())));
    },
    async lastSuccess(userId, addressKey) {
      d.check();
      const at = d.knownAddresses.get(attemptKey(userId, addressKey));
      return at ? new Date(at.getTime()) : null;
    },
  };
}

/** The revocation feed over the shared array (written by `MemoryData.removeToken`). */
export function memoryRevocationStore(d: MemoryData): RevocationStore {
  return {
    async latestSeq() {
      d.check();
      return d.revoked.at(-1)?.seq ?? 0;
    },
    async since(afterSeq, limit) {
      d.check();
      return d.revoked.filter((r) => r.seq > afterSeq).slice(0, limit).map(copy);
    },
    async removeOlderThan(before) {
      d.check();
      const n = d.revoked.length;
      d.revoked = d.revoked.filter((r) => r.at.getTime() >= before.getTime());
      return n - d.revoked.length;
    },
  };
}
