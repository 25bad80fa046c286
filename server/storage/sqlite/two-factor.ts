/**
 * SQLite `TwoFactorStore`. The replay guard and backup-code use are single conditional
 * statements, so they stay atomic even with several processes on one file.
 * @module
 */
import { defaultTwoFactorState, type TwoFactorStore } from '../contract.js';
import type { SqliteContext } from './connection.js';

interface TwoFactorRow {
  totp_enabled: number;
  totp_secret: string | null;
  pending_totp_secret: string | null;
  last_totp_step: number | null;
  email_enabled: number;
  backup_codes: number;
}

/** Builds the SQLite 2FA store; statements are prepared once, here. */
export function sqliteTwoFactorStore(ctx: SqliteContext): TwoFactorStore {
  const { db, guard } = ctx;
  const get = db.prepare<[string], TwoFactorRow>(
    `SELECT totp_enabled, totp_secret, pending_totp_secret, last_totp_step, email_enabled,
       (SELECT count(*) FROM backup_codes b WHERE b.user_id = t.user_id) AS backup_codes
     FROM two_factor t WHERE user_id = ?`,
  );
  // Creates the row on first write; a missing user fails the foreign key.
  const ensureRow = db.prepare('INSERT INTO two_factor (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING');
  // Upserts: one statement each, so there is no window between creating and updating.
  const setPending = db.prepare(
    `INSERT INTO two_factor (user_id, pending_totp_secret) VALUES (?, ?)
     ON CONFLICT (user_id) DO UPDATE SET pending_totp_secret = excluded.pending_totp_secret`,
  );
  const promote = db.prepare(
    `UPDATE two_factor SET totp_secret = pending_totp_secret, pending_totp_secret = NULL, totp_enabled = 1
     WHERE user_id = ? AND pending_totp_secret IS NOT NULL AND totp_enabled = 0`,
  );
  const wasEnabled = db.prepare<[string], { totp_enabled: number }>(
    'SELECT totp_enabled FROM two_factor WHERE user_id = ?',
  );
  const clearTotp = db.prepare(
    `UPDATE two_factor SET totp_enabled = 0, totp_secret = NULL, pending_totp_secret = NULL,
       last_totp_step = NULL WHERE user_id = ?`,
  );
  const recordStep = db.prepare(
    `UPDATE two_factor SET last_totp_step = ?
     WHERE user_id = ? AND (last_totp_step IS NULL OR last_totp_step < ?)`,
  );
  const clearCodes = db.prepare('DELETE FROM backup_codes WHERE user_id = ?');
  // OR IGNORE: a repeated hash in the input is one code, not an error.
  const addCode = db.prepare('INSERT OR IGNORE INTO backup_codes (user_id, code_hash) VALUES (?, ?)');
  const useCode = db.prepare('DELETE FROM backup_codes WHERE user_id = ? AND code_hash = ?');
  const setEmail = db.prepare(
    `INSERT INTO two_factor (user_id, email_enabled) VALUES (?, ?)
     ON CONFLICT (user_id) DO UPDATE SET email_enabled = excluded.email_enabled`,
  );

  const replaceCodes = (userId: string, hashes: string[]): void => {
    clearCodes.run(userId);
    for (const h of hashes) addCode.run(userId, h);
  };
  const enable = db.transaction((userId: string, hashes: string[]): boolean => {
    if (promote.run(userId).changes === 0) return false;
    replaceCodes(userId, hashes);
    return true;
  });
  const disable = db.transaction((userId: string): boolean => {
    const enabled = wasEnabled.get(userId)?.totp_enabled === 1;
    clearTotp.run(userId);
    clearCodes.run(userId);
    return enabled;
  });
  const replace = db.transaction((userId: string, hashes: string[]): void => {
    ensureRow.run(userId);
    replaceCodes(userId, hashes);
  });

  return {
    async get(userId) {
      return guard(() => {
        const r = get.get(userId);
        if (!r) return defaultTwoFactorState(userId);
        return {
          userId,
          totpEnabled: r.totp_enabled === 1,
          totpSecret: r.totp_secret,
          pendingTotpSecret: r.pending_totp_secret,
          lastTotpStep: r.last_totp_step,
          emailEnabled: r.email_enabled === 1,
          backupCodesRemaining: r.backup_codes,
        };
      });
    },
    async setPendingTotpSecret(userId, ciphertext) {
      guard(() => setPending.run(userId, ciphertext), userId);
    },
    async enableTotp(userId, backupCodeHashes) {
      return guard(() => enable.immediate(userId, backupCodeHashes), userId);
    },
    async disableTotp(userId) {
      return guard(() => disable.immediate(userId));
    },
    async recordTotpStep(userId, step) {
      // The row insert is a no-op when present; the conditional UPDATE is the atomic part.
      return guard(() => {
        ensureRow.run(userId);
        return recordStep.run(step, userId, step).changes > 0;
      }, userId);
    },
    async replaceBackupCodes(userId, hashes) {
      guard(() => replace.immediate(userId, hashes), userId);
    },
    async consumeBackupCode(userId, hash) {
      return guard(() => useCode.run(userId, hash).changes > 0);
    },
    async setEmailEnabled(userId, enabled) {
      guard(() => setEmail.run(userId, enabled ? 1 : 0), userId);
    },
  };
}
