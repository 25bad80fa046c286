/**
 * Two-factor wire types, shared by the server's guard and the client's retry loop.
 * Shapes follow Rocket.Chat's (`apps/meteor/app/2fa/server/code`).
 */

/** Factor names on the wire. `password` is the fallback when a user has no other factor. */
export type TwoFactorMethod = 'totp' | 'email' | 'password';

export const TWO_FACTOR_METHODS: readonly TwoFactorMethod[] = Object.freeze(['totp', 'email', 'password']);

export function isTwoFactorMethod(value: unknown): value is TwoFactorMethod {
  return value === 'totp' || value === 'email' || value === 'password';
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

export const TWO_FACTOR_ERROR_CODES = Object.freeze(['totp-required', 'totp-invalid', 'totp-max-attempts'] as const);
export type TwoFactorErrorCode = (typeof TWO_FACTOR_ERROR_CODES)[number];

export function isTwoFactorErrorCode(value: unknown): value is TwoFactorErrorCode {
  return value === 'totp-required' || value === 'totp-invalid' || value === 'totp-max-attempts';
}
