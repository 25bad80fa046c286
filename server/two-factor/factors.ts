/**
 * The factors behind one interface: TOTP (with backup codes), email codes, and the password
 * fallback. Each verifies a code with the store's atomic operations; attempt counting and
 * lock-outs are the guard's job.
 */
import type { PasskeyRequestOptions, TwoFactorMethod } from '../../protocol/two-factor.js';
import type { UserRecord, TwoFactorState } from '../storage/contract.js';
import type { Services } from '../services/services.js';
import { hmacHex } from '../security/crypto.js';
import { TOTP_DEFAULTS, verifyTotp } from './totp.js';
import { normalizeBackupCode } from './backup-codes.js';
import { generateEmailCode, normalizeEmailCode } from './email-code.js';
import { twoFactorCodeMail } from '../mail/templates.js';
import { catalogueError } from '../../protocol/errors.js';
import { MailDeliveryError } from '../mail/mailer.js';

/** What a factor tells the client when it asks for a code. */
export interface ChallengeData {
  codeGenerated: boolean;
  codeExpires?: Date;
  /** A refused code was right but already used. */
  reason?: 'used';
  /** With `reason`: ms until the authenticator app shows an unused code. */
  nextCodeIn?: number;
  /** The passkey factor: request options with a fresh challenge. */
  passkeyOptions?: PasskeyRequestOptions;
}

/**
 * The details of a TOTP code refused as already used: the app shows a code the server can
 * take once its step passes the last accepted one, `(lastStep + 1) × 30 s`.
 */
export async function replayData(services: Services, user: UserRecord): Promise<ChallengeData> {
  const { lastTotpStep } = await services.store.twoFactor.get(user.id);
  const stepMs = TOTP_DEFAULTS.periodSeconds * 1000;
  const now = services.clock.now();
  const next = lastTotpStep === null ? now : (lastTotpStep + 1) * stepMs;
  return { codeGenerated: false, reason: 'used', nextCodeIn: Math.max(0, next - now) };
}

/**
 * The result of a verification: `replay` is a valid TOTP code already used; `cloned` a valid
 * passkey signature whose counter did not grow (a copy of the authenticator).
 */
export type VerifyOutcome = 'ok' | 'invalid' | 'replay' | 'cloned';

export interface Factor {
  readonly name: TwoFactorMethod;
  /** Prepare a challenge (the email factor sends a code when none is active). */
  challenge(user: UserRecord, state: TwoFactorState): Promise<ChallengeData>;
  verify(user: UserRecord, state: TwoFactorState, code: string): Promise<VerifyOutcome>;
}

/** Keyed hash of a stored code, so a stolen database does not reveal guessable codes. */
export function codeHash(services: Services, kind: string, code: string): string {
  return hmacHex(services.codeKey, kind, code);
}

/** The verified addresses a user can receive codes on. */
export function verifiedAddresses(user: UserRecord): string[] {
  return user.emails.filter((e) => e.verified).map((e) => e.address);
}

/** Open the user's TOTP secret (sealed with the user id as context). */
export function openTotpSecret(services: Services, user: UserRecord, sealed: string): string {
  return services.totpBox.open(sealed, user.id);
}

export function totpFactor(services: Services): Factor {
  return {
    name: 'totp',
    challenge: async () => ({ codeGenerated: false }),
    async verify(user, state, code) {
      if (!state.totpEnabled || state.totpSecret === null) return 'invalid';
      const secret = openTotpSecret(services, user, state.totpSecret);
      const step = verifyTotp(secret, code, services.clock.now(), services.options.totpWindow);
      if (step !== null) {
        // Single use: the step must be newer than the last accepted one, atomically.
        return (await services.store.twoFactor.recordTotpStep(user.id, step)) ? 'ok' : 'replay';
      }
      const backup = normalizeBackupCode(code);
      if (backup.length !== services.options.backupCodeLength) return 'invalid';
      return (await services.store.twoFactor.consumeBackupCode(user.id, codeHash(services, 'backup', backup))) ? 'ok' : 'invalid';
    },
  };
}

/** Send a fresh email code to the user's verified addresses; stored only after it was sent. */
export async function sendEmailCode(services: Services, user: UserRecord): Promise<Date> {
  const addresses = verifiedAddresses(user);
  if (addresses.length === 0) throw catalogueError('noVerifiedEmail');
  const code = generateEmailCode();
  const now = services.clock.now();
  const expiresAt = new Date(now + services.options.emailCodeLifetimeMs);
  const mail = twoFactorCodeMail({ code, expiresInMinutes: Math.round(services.options.emailCodeLifetimeMs / 60_000), username: user.username });
  try {
    await services.mailer.send({ to: addresses, ...mail });
  } catch (err) {
    if (err instanceof MailDeliveryError) {
      services.logger.error({ userId: user.id, err: err.message }, 'could not send a 2FA code by email');
      throw catalogueError('emailCodeSendFailed');
    }
    throw err;
  }
  await services.store.codes.put({ userId: user.id, purpose: 'email-2fa', codeHash: codeHash(services, 'email', code), createdAt: new Date(now), expiresAt, data: null });
  return expiresAt;
}

export function emailFactor(services: Services): Factor {
  return {
    name: 'email',
    async challenge(user) {
      const active = await services.store.codes.findActive(user.id, 'email-2fa', new Date(services.clock.now()));
      if (active) return { codeGenerated: false, codeExpires: active.expiresAt };
      return { codeGenerated: true, codeExpires: await sendEmailCode(services, user) };
    },
    async verify(user, _state, code) {
      const normalized = normalizeEmailCode(code);
      if (!/^[0-9]{6}$/.test(normalized)) return 'invalid';
      const used = await services.store.codes.consume(user.id, 'email-2fa', codeHash(services, 'email', normalized), new Date(services.clock.now()));
      return used ? 'ok' : 'invalid';
    },
  };
}

export function passwordFactor(services: Services): Factor {
  return {
    name: 'password',
    challenge: async () => ({ codeGenerated: false }),
    async verify(user, _state, code) {
      if (user.passwordHash === null) return 'invalid';
      const digest = code.trim().toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(digest)) return 'invalid';
      return (await services.hasher.compare(digest, user.passwordHash)) ? 'ok' : 'invalid';
    },
  };
}
