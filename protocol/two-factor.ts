/**
 * Two-factor wire types, shared by the server's guard and the client's retry loop.
 * Shapes follow Rocket.Chat's (`apps/meteor/app/2fa/server/code`).
 */

/**
 * Factor names on the wire, in order of preference. `passkey` is a WebAuthn assertion (the
 * JSON text of the browser's response); `password` is the fallback when a user has no other factor.
 */
export type TwoFactorMethod = 'passkey' | 'totp' | 'email' | 'password';

export const TWO_FACTOR_METHODS: readonly TwoFactorMethod[] = Object.freeze(['passkey', 'totp', 'email', 'password']);

export function isTwoFactorMethod(value: unknown): value is TwoFactorMethod {
  return value === 'passkey' || value === 'totp' || value === 'email' || value === 'password';
}

/**
 * WebAuthn request options as JSON (`PublicKeyCredentialRequestOptionsJSON`), what a browser's
 * `startAuthentication` takes: the challenge and ids are base64url text.
 */
export interface PasskeyRequestOptions {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: { id: string; type: 'public-key'; transports?: string[] }[];
  userVerification?: 'required' | 'preferred' | 'discouraged';
}

/** `details` of `totp-required`, `totp-invalid` and `totp-max-attempts`, in Rocket.Chat's key order. */
export interface TwoFactorErrorDetails {
  method: TwoFactorMethod;
  codeGenerated: boolean;
  /** Present for email codes: when the current code expires. */
  codeExpires?: Date;
  /** On `login`, what the user typed; with the email factor, the account (for `2fa:sendEmailCode`). */
  emailOrUsername?: string;
  availableMethods: TwoFactorMethod[];
  /** On `totp-max-attempts`: milliseconds until this factor can be tried again. */
  lockedFor?: number;
  /**
   * On `totp-invalid` for a code that was right but already used (ddp-guard's, beside
   * Rocket.Chat's fields): `'used'`.
   */
  reason?: 'used';
  /** With `reason: 'used'` for TOTP: milliseconds until the authenticator app shows a code not used yet. */
  nextCodeIn?: number;
  /** With `method: 'passkey'`: what to pass to `startAuthentication` (a fresh, single-use challenge). */
  passkeyOptions?: PasskeyRequestOptions;
}

/** The argument a client appends to a method call to answer a challenge. */
export interface TwoFactorArgument {
  twoFactorCode: string;
  twoFactorMethod: string;
}

/**
 * True for exactly `{twoFactorCode: string, twoFactorMethod: string}`, with no other key. An
 * application object that merely contains `twoFactorCode` is not one.
 */
export function isTwoFactorArgument(value: unknown): value is TwoFactorArgument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  if (keys.length !== 2) return false;
  const v = value as Record<string, unknown>;
  return typeof v.twoFactorCode === 'string' && typeof v.twoFactorMethod === 'string';
}

/** The login argument that answers a challenge on `login`: `{totp: {login, code}}`. */
export interface TotpLoginArgument {
  totp: { login: unknown; code: string; method?: string };
}

/** The login argument of a passwordless sign-in: the assertion for `passkey:loginOptions`' challenge. */
export interface PasskeyLoginArgument {
  passkey: { response: unknown };
}

/** Longest passkey answer accepted (JSON text of an assertion), in characters. */
export const MAX_PASSKEY_RESPONSE_LENGTH = 16_384;

export const TWO_FACTOR_ERROR_CODES = Object.freeze(['totp-required', 'totp-invalid', 'totp-max-attempts'] as const);
export type TwoFactorErrorCode = (typeof TWO_FACTOR_ERROR_CODES)[number];

export function isTwoFactorErrorCode(value: unknown): value is TwoFactorErrorCode {
  return value === 'totp-required' || value === 'totp-invalid' || value === 'totp-max-attempts';
}
