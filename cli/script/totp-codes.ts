/**
 * TOTP codes computed from a secret, for `script` (`{{totp:...}}`) and `call --totp-secret`.
 * A server accepts each code once (it stores the last time step used) and accepts one step of
 * clock drift, so a second code for the same secret within one 30-s step is taken from the
 * next step rather than repeated: two guarded calls in a row then work without waiting.
 * @module
 */
import { generateTotpCode, totpStep, TOTP_DEFAULTS } from '../../server/two-factor/totp.js';

const STEP_MS = TOTP_DEFAULTS.periodSeconds * 1000;
const BASE32 = /^[A-Z2-7]+=*$/;

/** Hands out codes, never the same time step twice per secret. */
export class TotpCodes {
  readonly #lastStep = new Map<string, number>();

  /** @param now the clock (ms since the epoch) */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The code to send now for `secret` (base32; spaces and case do not matter).
   * @throws Error when the secret is not base32.
   */
  next(secret: string): string {
    const normalized = normalizeSecret(secret);
    const now = this.now();
    const last = this.#lastStep.get(normalized);
    const step = last === undefined ? totpStep(now) : Math.max(totpStep(now), last + 1);
    this.#lastStep.set(normalized, step);
    return generateTotpCode(normalized, step * STEP_MS);
  }
}

/** The secret in upper case without spaces. @throws Error when it is not base32. */
export function normalizeSecret(secret: string): string {
  const normalized = secret.replace(/\s+/g, '').toUpperCase();
  if (!BASE32.test(normalized)) {
    throw new Error(`'${secret}' is not a base32 TOTP secret (letters A-Z and digits 2-7, as shown when the authenticator app was set up)`);
  }
  return normalized;
}
