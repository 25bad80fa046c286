/**
 * Security audit records: who did what, when, from where. Enabling or disabling a factor,
 * creating or removing tokens and lock-outs are recorded; secrets never are.
 */
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import { errorFields } from '../runtime/logger.js';

/** Audit actions, stable names for `ddp-guard audit`. */
export type AuditAction =
  | 'totp.enrolment-started' | 'totp.enabled' | 'totp.disabled' | 'totp.backup-codes-regenerated'
  | 'email-2fa.enabled' | 'email-2fa.disabled'
  | 'passkey.added' | 'passkey.removed' | 'passkey.renamed' | 'passkey.counter-regressed'
  | 'token.created' | 'token.regenerated' | 'token.removed'
  | '2fa.locked-out' | '2fa.replay-rejected'
  | 'password.locked-out' | 'address.locked-out' | 'account.lock-notified' | 'account.unlocked'
  | 'password.changed' | 'password.reset' | 'email.verified' | 'user.created'
  | 'user.login' | '2fa.failed' | 'session.revoked' | 'sessions.revoked-others';

/** Append an audit record; a failure to write it is logged, never hidden. */
export async function audit(services: Services, action: AuditAction, userId: string | null, caller: Caller | null, details: Record<string, unknown> | null = null): Promise<void> {
  const connection = caller?.connection ?? null;
  try {
    await services.store.audit.append({
      at: new Date(services.clock.now()),
      userId,
      action,
      clientAddress: connection?.clientAddress ?? null,
      userAgent: connection?.httpHeaders['user-agent'] ?? null,
      details,
    });
  } catch (err) {
    services.logger.error({ action, userId, ...errorFields(err) }, 'could not write an audit record');
    throw err;
  }
}
