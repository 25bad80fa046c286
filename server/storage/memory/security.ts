/**
 * Memory `TwoFactorStore`, `CodeStore`, `AttemptStore` and `AuditStore`.
 * @module
 */
import { NO_ATTEMPTS, nextAttemptState, visibleAttemptState } from '../attempt-policy.js';
import {
  defaultTwoFactorState,
  type AttemptStore,
  type AuditStore,
  type CodeRecord,
  type CodeStore,
  type TwoFactorStore,
} from '../contract.js';
import { attemptKey, copy, type MemoryData } from './data.js';

/** 2FA state over the shared maps. */
export function memoryTwoFactorStore(d: MemoryData): TwoFactorStore {
  return {
    async get(userId) {
      d.check();
      const row = d.twoFactor.get(userId);
      if (!row) return defaultTwoFactorState(userId);
      return {
        userId,
        totpEnabled: row.totpEnabled,
        totpSecret: row.totpSecret,
        pendingTotpSecret: row.pendingTotpSecret,
        lastTotpStep: row.lastTotpStep,
        emailEnabled: row.emailEnabled,
        backupCodesRemaining: row.backupCodes.size,
      };
    },
    async setPendingTotpSecret(userId, ciphertext) {
      d.twoFactorRow(userId).pendingTotpSecret = ciphertext;
    },
    async enableTotp(userId, backupCodeHashes) {
      d.check();
      const row = d.twoFactor.get(userId);
      if (!row || row.totpEnabled || row.pendingTotpSecret === null) return false;
      row.totpSecret = row.pendingTotpSecret;
      row.pendingTotpSecret = null;
      row.totpEnabled = true;
      row.backupCodes = new Set(backupCodeHashes);
      return true;
    },
    async disableTotp(userId) {
      d.check();
      const row = d.twoFactor.get(userId);
      if (!row) return false;
      const wasEnabled = row.totpEnabled;
      row.totpEnabled = false;
      row.totpSecret = null;
      row.pendingTotpSecret = null;
      row.lastTotpStep = null;
      row.backupCodes = new Set();
      return wasEnabled;
    },
    async recordTotpStep(userId, step) {
      const row = d.twoFactorRow(userId);
      if (row.lastTotpStep !== null && row.lastTotpStep >= step) return false;
      row.lastTotpStep = step;
      return true;
    },
    async replaceBackupCodes(userId, hashes) {
      d.twoFactorRow(userId).backupCodes = new Set(hashes);
    },
    async consumeBackupCode(userId, hash) {
      d.check();
      return d.twoFactor.get(userId)?.backupCodes.delete(hash) ?? false;
    },
    async setEmailEnabled(userId, enabled) {
      d.twoFactorRow(userId).emailEnabled = enabled;
    },
  };
}

/** One-time codes over the shared maps. */
export function memoryCodeStore(d: MemoryData): CodeStore {
  const live = (c: CodeRecord, now: Date): boolean => c.expiresAt.getTime() > now.getTime();
  return {
    async put(rec) {
      d.requireUser(rec.userId);
      if (rec.purpose === 'email-2fa') {
        d.codes = d.codes.filter((c) => !(c.userId === rec.userId && c.purpose === rec.purpose));
      }
      d.codes.push(copy(rec));
    },
    async findActive(userId, purpose, now) {
      d.check();
      // Latest first: by createdAt, then by insertion order (later index wins a tie).
      let best: CodeRecord | null = null;
      for (const c of d.codes) {
        if (c.userId !== userId || c.purpose !== purpose || !live(c, now)) continue;
        if (!best || c.createdAt.getTime() >= best.createdAt.getTime()) best = c;
      }
      return best ? copy(best) : null;
    },
    async consume(userId, purpose, codeHash, now) {
      d.check();
      const i = d.codes.findIndex(
        (c) =>
          c.purpose === purpose &&
          c.codeHash === codeHash &&
          (userId === null || c.userId === userId) &&
          live(c, now),
      );
      if (i < 0) return null;
      const [removed] = d.codes.splice(i, 1);
      return copy(removed!);
    },
    async removeForUser(userId, purpose) {
      d.check();
      const before = d.codes.length;
      d.codes = d.codes.filter((c) => !(c.userId === userId && c.purpose === purpose));
      return before - d.codes.length;
    },
    async removeExpired(now) {
      d.check();
      const before = d.codes.length;
      d.codes = d.codes.filter((c) => live(c, now));
      return before - d.codes.length;
    },
  };
}

/** Attempt counters over the shared maps. */
export function memoryAttemptStore(d: MemoryData): AttemptStore {
  return {
    async get(userId, factor, now) {
      d.check();
      return visibleAttemptState(d.attempts.get(attemptKey(userId, factor)) ?? NO_ATTEMPTS, now);
    },
    async recordFailure(userId, factor, now, policy) {
      d.requireUser(userId);
      const key = attemptKey(userId, factor);
      const next = nextAttemptState(d.attempts.get(key) ?? NO_ATTEMPTS, now, policy);
      d.attempts.set(key, next);
      return visibleAttemptState(next, now);
    },
    async reset(userId, factor) {
      d.check();
      d.attempts.delete(attemptKey(userId, factor));
    },
    async removeForUser(userId) {
      d.check();
      const prefix = attemptKey(userId, '');
      let n = 0;
      for (const k of d.attempts.keys()) if (k.startsWith(prefix)) n += Number(d.attempts.delete(k));
      return n;
    },
  };
}

/** The audit log over the shared array. */
export function memoryAuditStore(d: MemoryData): AuditStore {
  return {
    async append(rec) {
      d.check();
      d.audit.push({ ...copy(rec), id: d.nextAuditId++ });
    },
    async list(query) {
      d.check();
      const since = query.since?.getTime();
      const matches = d.audit
        .filter((r) => query.userId === undefined || r.userId === query.userId)
        .filter((r) => since === undefined || r.at.getTime() >= since)
        // Stable sort keeps insertion order for equal timestamps.
        .sort((a, b) => a.at.getTime() - b.at.getTime());
      if (query.newestFirst === true) matches.reverse();
      const from = Math.max(0, Math.floor(query.offset ?? 0));
      const limited = query.limit === undefined ? matches.slice(from) : matches.slice(from, from + Math.max(0, Math.floor(query.limit)));
      return limited.map(copy);
    },
  };
}
