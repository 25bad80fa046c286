/**
 * Memory `PasskeyStore` and `WebAuthnChallengeStore`.
 * @module
 */
import type { PasskeyStore, WebAuthnChallengeStore } from '../contract.js';
import { StoreConflictError } from '../store-errors.js';
import { copy, type MemoryData } from './data.js';

/** Passkeys over the shared maps. */
export function memoryPasskeyStore(d: MemoryData): PasskeyStore {
  const own = (userId: string, id: string) => {
    d.check();
    const p = d.passkeys.get(id);
    return p && p.userId === userId ? p : undefined;
  };
  return {
    async insert(rec) {
      d.requireUser(rec.userId);
      if (d.passkeys.has(rec.id)) throw new StoreConflictError('credential');
      d.passkeys.set(rec.id, copy(rec));
    },
    async find(id) {
      d.check();
      const p = d.passkeys.get(id);
      return p ? copy(p) : null;
    },
    async list(userId) {
      d.check();
      return [...d.passkeys.values()].filter((p) => p.userId === userId).map(copy);
    },
    async rename(userId, id, name) {
      const p = own(userId, id);
      if (!p) return false;
      p.name = name;
      return true;
    },
    async remove(userId, id) {
      return own(userId, id) ? d.passkeys.delete(id) : false;
    },
    async removeForUser(userId) {
      d.check();
      let n = 0;
      for (const [id, p] of d.passkeys) if (p.userId === userId && d.passkeys.delete(id)) n++;
      return n;
    },
    async recordUse(userId, id, counter, now) {
      const p = own(userId, id);
      if (!p) return 'missing';
      if (!(counter > p.counter || (counter === 0 && p.counter === 0))) return 'regressed';
      p.counter = counter;
      p.lastUsedAt = new Date(now.getTime());
      return 'ok';
    },
  };
}

/** WebAuthn challenges over the shared list. */
export function memoryWebAuthnChallengeStore(d: MemoryData): WebAuthnChallengeStore {
  return {
    async put(rec) {
      if (rec.userId === null) d.check();
      else d.requireUser(rec.userId);
      d.webauthnChallenges.push(copy(rec));
    },
    async consume(challenge, ceremony, owner, now) {
      d.check();
      const i = d.webauthnChallenges.findIndex((c) => c.challenge === challenge && c.ceremony === ceremony
        && c.userId === owner.userId && c.binding === owner.binding && c.expiresAt.getTime() > now.getTime());
      if (i < 0) return null;
      const [found] = d.webauthnChallenges.splice(i, 1);
      return copy(found!);
    },
    async removeExpired(now) {
      d.check();
      const before = d.webauthnChallenges.length;
      d.webauthnChallenges = d.webauthnChallenges.filter((c) => c.expiresAt.getTime() > now.getTime());
      return before - d.webauthnChallenges.length;
    },
  };
}
