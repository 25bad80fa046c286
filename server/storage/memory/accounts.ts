/**
 * Memory `UserStore`, `LoginTokenStore` and `PersonalTokenStore`.
 * @module
 */
import type { LoginTokenStore, PersonalTokenRecord, PersonalTokenStore, UserRecord, UserStore } from '../contract.js';
import { StoreConflictError } from '../store-errors.js';
import { foldCase, randomId } from '../ids.js';
import { attemptKey, copy, type MemoryData } from './data.js';

/** Users over the shared maps. */
export function memoryUserStore(d: MemoryData): UserStore {
  return {
    async create(input) {
      d.check();
      const nameKey = foldCase(input.username);
      if (d.usernames.has(nameKey)) throw new StoreConflictError('username');
      const emailKeys = input.emails.map((e) => foldCase(e.address));
      if (new Set(emailKeys).size !== emailKeys.length || emailKeys.some((k) => d.emails.has(k))) {
        throw new StoreConflictError('email');
      }
      let id = randomId();
      while (d.users.has(id)) id = randomId();
      const user: UserRecord = {
        id,
        username: input.username,
        emails: input.emails.map((e) => ({ address: e.address, verified: e.verified })),
        passwordHash: input.passwordHash,
        createdAt: new Date(input.createdAt?.getTime() ?? Date.now()),
      };
      if (input.profile !== undefined) user.profile = copy(input.profile);
      d.users.set(id, user);
      d.usernames.set(nameKey, id);
      for (const k of emailKeys) d.emails.set(k, id);
      return copy(user);
    },
    async findById(userId) {
      d.check();
      const user = d.users.get(userId);
      return user ? copy(user) : null;
    },
    async findByUsername(username) {
      d.check();
      const id = d.usernames.get(foldCase(username));
      return id === undefined ? null : copy(d.users.get(id)!);
    },
    async findByEmail(address) {
      d.check();
      const id = d.emails.get(foldCase(address));
      return id === undefined ? null : copy(d.users.get(id)!);
    },
    async list() {
      d.check();
      // Stable sort: equal createdAt keeps insertion order, as rowid does in SQLite.
      return [...d.users.values()]
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map(copy);
    },
    async setPasswordHash(userId, hash) {
      d.check();
      const user = d.users.get(userId);
      if (!user) return false;
      user.passwordHash = hash;
      return true;
    },
    async setEmailVerified(userId, address, verified) {
      d.check();
      const email = d.users.get(userId)?.emails.find((e) => foldCase(e.address) === foldCase(address));
      if (!email) return false;
      email.verified = verified;
      return true;
    },
    async remove(userId) {
      d.check();
      const user = d.users.get(userId);
      if (!user) return false;
      d.users.delete(userId);
      d.usernames.delete(foldCase(user.username));
      for (const e of user.emails) d.emails.delete(foldCase(e.address));
      for (const [h, t] of d.loginTokens) if (t.userId === userId) d.removeToken(d.loginTokens, h);
      for (const [h, t] of d.personalTokens) if (t.userId === userId) d.removeToken(d.personalTokens, h);
      d.twoFactor.delete(userId);
      d.codes = d.codes.filter((c) => c.userId !== userId);
      const prefix = attemptKey(userId, '');
      for (const k of d.attempts.keys()) if (k.startsWith(prefix)) d.attempts.delete(k);
      for (const k of d.knownAddresses.keys()) if (k.startsWith(prefix)) d.knownAddresses.delete(k);
      for (const [id, p] of d.passkeys) if (p.userId === userId) d.passkeys.delete(id);
      d.webauthnChallenges = d.webauthnChallenges.filter((c) => c.userId !== userId);
      return true;
    },
  };
}

/** Login tokens over the shared maps. */
export function memoryLoginTokenStore(d: MemoryData): LoginTokenStore {
  return {
    async insert(rec) {
      d.requireUser(rec.userId);
      if (d.loginTokens.has(rec.hashedToken)) throw new StoreConflictError('token');
      d.loginTokens.set(rec.hashedToken, {
        ...copy(rec),
        trust: null,
        lastUsedAt: rec.lastUsedAt ? new Date(rec.lastUsedAt) : null,
        clientAddress: rec.clientAddress ?? null,
        userAgent: rec.userAgent ?? null,
      });
    },
    async find(hashedToken) {
      d.check();
      const t = d.loginTokens.get(hashedToken);
      return t ? copy(t) : null;
    },
    async listForUser(userId) {
      d.check();
      // Map order is insertion order; the stable sort keeps it for equal times.
      return [...d.loginTokens.values()]
        .filter((t) => t.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map(copy);
    },
    async touch(hashedToken, use) {
      d.check();
      const t = d.loginTokens.get(hashedToken);
      if (!t) return false;
      t.lastUsedAt = new Date(use.at);
      t.clientAddress = use.clientAddress;
      t.userAgent = use.userAgent;
      return true;
    },
    async remove(hashedToken) {
      d.check();
      return d.removeToken(d.loginTokens, hashedToken);
    },
    async removeForUser(userId, exceptHashedToken) {
      d.check();
      let n = 0;
      for (const [h, t] of d.loginTokens) {
        if (t.userId === userId && h !== exceptHashedToken) n += Number(d.removeToken(d.loginTokens, h));
      }
      return n;
    },
    async removeExpired(now) {
      d.check();
      let n = 0;
      for (const [h, t] of d.loginTokens) {
        if (t.expiresAt && t.expiresAt.getTime() <= now.getTime()) n += Number(d.removeToken(d.loginTokens, h));
      }
      return n;
    },
    async setTrust(hashedToken, trust) {
      d.check();
      const t = d.loginTokens.get(hashedToken);
      if (!t) return false;
      t.trust = trust ? copy(trust) : null;
      return true;
    },
  };
}

/** Personal access tokens over the shared maps. */
export function memoryPersonalTokenStore(d: MemoryData): PersonalTokenStore {
  const byName = (userId: string, name: string): PersonalTokenRecord | undefined =>
    [...d.personalTokens.values()].find((t) => t.userId === userId && t.name === name);
  return {
    async insert(rec) {
      d.requireUser(rec.userId);
      if (byName(rec.userId, rec.name)) throw new StoreConflictError('name');
      if (d.personalTokens.has(rec.hashedToken)) throw new StoreConflictError('token');
      d.personalTokens.set(rec.hashedToken, copy(rec));
    },
    async find(hashedToken) {
      d.check();
      const t = d.personalTokens.get(hashedToken);
      return t ? copy(t) : null;
    },
    async findByName(userId, name) {
      d.check();
      const t = byName(userId, name);
      return t ? copy(t) : null;
    },
    async list(userId) {
      d.check();
      return [...d.personalTokens.values()]
        .filter((t) => t.userId === userId)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map(copy);
    },
    async replace(userId, name, newHashedToken, now) {
      d.check();
      const t = byName(userId, name);
      if (!t) return false;
      if (newHashedToken !== t.hashedToken && d.personalTokens.has(newHashedToken)) {
        throw new StoreConflictError('token');
      }
      d.removeToken(d.personalTokens, t.hashedToken);
      d.personalTokens.set(newHashedToken, {
        ...t,
        hashedToken: newHashedToken,
        createdAt: new Date(now.getTime()),
        lastUsedAt: null,
      });
      return true;
    },
    async remove(userId, name) {
      d.check();
      const t = byName(userId, name);
      return t ? d.removeToken(d.personalTokens, t.hashedToken) : false;
    },
    async touch(hashedToken, now) {
      d.check();
      const t = d.personalTokens.get(hashedToken);
      if (!t) return false;
      t.lastUsedAt = new Date(now.getTime());
      return true;
    },
  };
}
