import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';

/**
 * TOTP parameters. These are what authenticator apps assume when the otpauth URL does not
 * say otherwise, so changing them breaks already-enrolled users.
 */
export const TOTP_DEFAULTS = Object.freeze({
  /** @default 'sha1' */
  algorithm: 'sha1',
  /** @default 6 */
  digits: 6,
  /** Seconds per time step. @default 30 */
  periodSeconds: 30,
  /** Steps accepted either side of the current one (clock drift). @default 1 */
  window: 1,
  /** Secret size in bytes (160 bits, RFC 4226's recommendation). @default 20 */
  secretBytes: 20,
} as const);

/** Largest window accepted; wider windows make guessing proportionally easier. */
const MAX_WINDOW = 10;

const SIX_DIGITS = /^[0-9]{6}$/;

/** A new random TOTP secret, base32 encoded (20 bytes → 32 characters). */
export function generateTotpSecret(): string {
  return generateSecret({ length: TOTP_DEFAULTS.secretBytes });
}

/** Options for {@link totpKeyUri}. */
export interface TotpKeyUriOptions {
  /** Base32 secret from {@link generateTotpSecret}. */
  secret: string;
  /** Shown in the authenticator app, usually the username or email. */
  accountName: string;
  /** The service name shown in the app, e.g. the site name. */
  issuer: string;
}

/** The `otpauth://totp/...` URL an authenticator app scans (as a QR code) to enrol. */
export function totpKeyUri({ secret, accountName, issuer }: TotpKeyUriOptions): string {
  return generateURI({
    issuer,
    label: accountName,
    secret,
    algorithm: TOTP_DEFAULTS.algorithm,
    digits: TOTP_DEFAULTS.digits,
    period: TOTP_DEFAULTS.periodSeconds,
  });
}

/** The absolute time step (RFC 6238 counter) that contains `atMs`. */
export function totpStep(atMs: number): number {
  return Math.floor(atMs / 1000 / TOTP_DEFAULTS.periodSeconds);
}

/** The code an authenticator shows at `atMs`; for tests and the CLI. */
export function generateTotpCode(secret: string, atMs: number): string {
  return generateSync({
    secret,
    epoch: Math.floor(atMs / 1000),
    algorithm: TOTP_DEFAULTS.algorithm,
    digits: TOTP_DEFAULTS.digits,
    period: TOTP_DEFAULTS.periodSeconds,
  });
}

/**
 * Checks a TOTP code at time `atMs`, accepting `window` steps either side.
 *
 * Returns the absolute time step that matched (`totpStep(atMs) + delta`), or null. The
 * caller stores that step and refuses any step not greater than the stored one, which is
 * what makes a code single-use; this function does no replay check itself.
 *
 * Spaces are removed (apps display "123 456"); anything else that is not exactly six
 * digits is rejected without touching the secret. Comparison is constant-time (otplib).
 *
 * @throws if the stored secret is not valid base32 (a data error, not a wrong code).
 */
export function verifyTotp(
  secret: string,
  code: string,
  atMs: number,
  window: number = TOTP_DEFAULTS.window,
): number | null {
  if (!Number.isInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new RangeError(`verifyTotp: window must be an integer in [0, ${MAX_WINDOW}], got ${window}`);
  }
  if (typeof code !== 'string') return null;
  const token = code.replace(/ /g, '');
  if (!SIX_DIGITS.test(token)) return null;
  const result = verifySync({
    secret,
    token,
    epoch: Math.floor(atMs / 1000),
    // otplib takes the tolerance in seconds; whole periods give exactly ±window steps.
    epochTolerance: window * TOTP_DEFAULTS.periodSeconds,
    algorithm: TOTP_DEFAULTS.algorithm,
    digits: TOTP_DEFAULTS.digits,
    period: TOTP_DEFAULTS.periodSeconds,
  });
  // The union type also covers HOTP results, which carry no timeStep.
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}
