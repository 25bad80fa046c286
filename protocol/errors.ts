/**
 * The error catalogue: every error ddp-guard puts on the wire, with its stable code, its default
 * reason and a one-line meaning. The tables of docs/errors.md are generated from these objects (`npm run docs`) and checked by a test.
 */

/** Meteor's wire shape of a client-safe error (`Meteor.Error` as EJSON). */
export interface WireError {
  isClientSafe: true;
  error: string | number;
  reason?: string;
  details?: unknown;
  message: string;
  errorType: 'Meteor.Error';
}

/** Meteor's message text: `reason [error]`, or `[error]` without a reason. */
export function errorMessageText(error: string | number, reason: string | undefined): string {
  return reason ? `${reason} [${error}]` : `[${error}]`;
}

/**
 * A client-safe error, the equivalent of `Meteor.Error`. Throw it from a method or a publication
 * to send `error`, `reason` and `details` to the client; any other exception becomes 500
 * `Internal server error` on the wire and is logged on the server.
 */
export class DdpError extends Error {
  readonly isClientSafe = true as const;
  readonly errorType = 'Meteor.Error' as const;
  override name = 'DdpError';

  constructor(
    /** A stable code: a number (HTTP-like) or a string such as `totp-required`. */
    readonly error: string | number,
    /** Human-readable text. */
    readonly reason?: string,
    /** Anything EJSON can carry; sent to the client as is. */
    readonly details?: unknown,
  ) {
    super(errorMessageText(error, reason));
  }

  /** The wire shape, with fields in Meteor's order; `reason` and `details` only when defined. */
  toWire(): WireError {
    const wire: Partial<WireError> = { isClientSafe: true, error: this.error };
    if (this.reason !== undefined) wire.reason = this.reason;
    if (this.details !== undefined) wire.details = this.details;
    wire.message = this.message;
    wire.errorType = 'Meteor.Error';
    return wire as WireError;
  }

  /** Rebuild from a wire error (used by the client). */
  static fromWire(wire: WireError): DdpError {
    return new DdpError(wire.error, wire.reason, wire.details);
  }
}

/** A type guard for anything shaped like a client-safe error, whatever class made it. */
export function isClientSafeError(value: unknown): value is { isClientSafe: true; error: string | number; reason?: string; details?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.isClientSafe === true && (typeof v.error === 'string' || typeof v.error === 'number');
}

/** A type guard for the wire shape. */
export function isWireError(value: unknown): value is WireError {
  if (!isClientSafeError(value)) return false;
  const v = value as unknown as Record<string, unknown>;
  return typeof v.message === 'string' && (v.reason === undefined || typeof v.reason === 'string');
}

/** An entry of the catalogue of method and subscription errors. */
export interface CatalogueEntry {
  readonly error: string | number;
  readonly reason: string;
  readonly meaning: string;
}

/**
 * Errors sent in `result.error` and `nosub.error`. Reasons with `%s` take an argument.
 */
export const METHOD_ERRORS = Object.freeze({
  methodNotFound: { error: 404, reason: "Method '%s' not found", meaning: 'No method of that name is registered.' },
  subscriptionNotFound: { error: 404, reason: "Subscription '%s' not found", meaning: 'No publication of that name is registered.' },
  matchFailed: { error: 400, reason: 'Match failed', meaning: 'The parameters failed validation.' },
  internal: { error: 500, reason: 'Internal server error', meaning: 'An unexpected exception; the real error is logged on the server, never sent.' },
  tooManyRequests: { error: 'too-many-requests', reason: 'Error, too many requests. Please slow down. You must wait %s seconds before trying again.', meaning: 'A rate-limit rule matched; `details.timeToReset` is in milliseconds.' },
  notLoggedIn: { error: 401, reason: 'You must be logged in', meaning: 'The method or publication needs a logged-in user.' },
  tooManyInFlight: { error: 'too-many-methods', reason: 'Too many methods in flight on this connection', meaning: 'The connection passed `maxMethodsInFlight`.' },
  tooManySubscriptions: { error: 'too-many-subscriptions', reason: 'Too many subscriptions on this connection', meaning: 'The connection passed `maxSubscriptions`.' },
  serverShuttingDown: { error: 503, reason: 'Server shutting down', meaning: 'The server is closing and takes no new work.' },
  storeUnavailable: { error: 503, reason: 'Service unavailable, try again later', meaning: 'The database stayed busy or locked past its bounded wait, or cannot be reached; nothing was written.' },
  callOutcomeUnknown: { error: 504, reason: 'The first attempt of this call has not finished; its outcome is unknown', meaning: 'A re-sent call (same user, same `randomSeed`) waited `callResultWaitMs` for its first attempt, which is still running or died with its server; it was not run again.' },
  loginFailed: { error: 403, reason: 'Something went wrong. Please check your credentials.', meaning: 'Wrong password or unknown user: the same answer for both, so usernames cannot be probed.' },
  loginBlockedForUser: { error: 'error-login-blocked-for-user', reason: 'Login has been temporarily blocked For User', meaning: 'Too many wrong passwords for this account from where the caller is: password checks wait `details.timeToReset` ms. Addresses the account signed in from recently count apart.' },
  loginBlockedForIp: { error: 'error-login-blocked-for-ip', reason: 'Login has been temporarily blocked For IP', meaning: 'Too many wrong passwords from this client address, for any accounts: password checks from it wait `details.timeToReset` ms.' },
  tokenExpired: { error: 403, reason: "You've been logged out by the server. Please log in again.", meaning: 'The resume token is unknown or expired.' },
  totpRequired: { error: 'totp-required', reason: 'TOTP Required', meaning: 'A second factor is needed: retry with `{twoFactorCode, twoFactorMethod}` as the last parameter.' },
  totpInvalid: { error: 'totp-invalid', reason: 'TOTP Invalid', meaning: 'The code was wrong, expired or already used; for a used TOTP code `details.reason` is `used` and `details.nextCodeIn` the ms until the app shows the next one.' },
  // Rocket.Chat's code for its minimum-length rule; the reason names the length.
  passwordTooShort: { error: 'error-password-policy-not-met-minLength', reason: 'The password must be at least %s characters long', meaning: 'A new password (`createUser`, `changePassword`, `resetPassword`) is shorter than `passwordMinLength`; `details.minLength` says how long it must be.' },
  passwordTooCommon: { error: 'error-password-policy-not-met-common', reason: 'The password is one of the most common passwords: choose another', meaning: 'A new password is among the 10 000 most common ones (`refuseCommonPasswords`); also checked when only its sha-256 digest is sent.' },
  // Rocket.Chat's exact text, misspelling included: clients compare it.
  totpMaxAttempts: { error: 'totp-max-attempts', reason: 'TOTP Maximun Failed Attempts Reached', meaning: 'Too many wrong codes: this factor is locked for `details.lockedFor` ms.' },
  // The built-in methods' own refusals. Accounts: Meteor's codes and texts.
  unrecognizedLogin: { error: 400, reason: 'Unrecognized options for login request', meaning: '`login` got neither a password (`{user, password}`, or the `totp` wrapper around one) nor `{resume}`.' },
  incorrectPassword: { error: 403, reason: 'Incorrect password', meaning: '`changePassword`: the old password is wrong.' },
  notSessionToken: { error: 403, reason: 'You are not logged in with a session token', meaning: '`getNewToken` from a caller that logged in with a personal access token, which cannot be refreshed.' },
  signupsForbidden: { error: 403, reason: 'Signups forbidden', meaning: '`createUser` while sign-up is off (the `signup` option).' },
  usernameTaken: { error: 403, reason: 'Username already exists.', meaning: '`createUser`: another account has that username.' },
  emailTaken: { error: 403, reason: 'Email already exists.', meaning: '`createUser`: another account has that email address.' },
  invalidAccountField: { error: 400, reason: '%s', meaning: '`createUser`: the username, email address or password cannot be used; the reason says which and why.' },
  noSuchUnverifiedEmail: { error: 403, reason: 'No such unverified email address for this user', meaning: '`sendVerificationEmail`: the user has no such address, or none left to verify.' },
  emailAlreadyVerified: { error: 403, reason: 'That email address is already verified', meaning: '`sendVerificationEmail` for an address that is verified already.' },
  verifyEmailLinkExpired: { error: 403, reason: 'Verify email link expired', meaning: '`verifyEmail`: the token is unknown, used or expired.' },
  resetTokenExpired: { error: 403, reason: 'Token expired', meaning: '`resetPassword`: the token is unknown, used or expired.' },
  emailSendFailed: { error: 'email-send-failed', reason: 'The email could not be sent; try again later', meaning: 'A verification or password-reset mail could not be delivered; no token was kept.' },
  // Two-factor set-up and personal access tokens: Rocket.Chat's codes where it has one.
  totpNotEnabled: { error: 'totp-not-enabled', reason: 'TOTP is not enabled', meaning: '`2fa:disable`, `2fa:regenerateCodes`, `2fa:checkCodesRemaining` for a user without an authenticator app.' },
  totpAlreadyEnabled: { error: 'totp-already-enabled', reason: 'TOTP is already enabled', meaning: '`2fa:enable` or `2fa:validateTempToken` for a user who has an authenticator app already.' },
  totpNotStarted: { error: 'totp-not-started', reason: 'Call 2fa:enable first', meaning: '`2fa:validateTempToken` without an enrolment started by `2fa:enable`.' },
  emailNotVerified: { error: 'email-not-verified', reason: 'Verify an email address first', meaning: '`2fa:enableEmail` for a user without a verified address.' },
  noVerifiedEmail: { error: 'email-not-verified', reason: 'No verified email address to send a code to', meaning: 'An email code is needed, but the user has no verified address.' },
  emailCodeSendFailed: { error: 'email-send-failed', reason: 'The code could not be sent by email; try again later or use another method', meaning: 'The mail with a 2FA code could not be delivered; no code was stored.' },
  passkeyInvalid: { error: 'passkey-invalid', reason: 'The passkey could not be verified', meaning: '`2fa:passkey:register`: the response does not answer a challenge of `2fa:passkey:registrationOptions` for this user (used, expired, another origin or RP ID, no user verification), or the credential is registered already.' },
  passkeyNotFound: { error: 'passkey-not-found', reason: 'No such passkey', meaning: '`2fa:passkey:rename` or `2fa:passkey:remove` with an id that is not one of the caller\'s passkeys.' },
  tokenNotFound: { error: 'error-token-does-not-exists', reason: 'Token does not exist', meaning: 'No personal access token of that name for this user.' },
  tokenNameTaken: { error: 'error-token-already-exists', reason: 'A token with this name already exists', meaning: '`personalAccessTokens:generateToken` with a name the user already has.' },
  // Streams (Rocket.Chat's Realtime API).
  notAllowed: { error: 'not-allowed', reason: 'Not allowed to %s', meaning: "A stream's read or write rule refused the subscription or the event." },
  invalidEventName: { error: 'invalid-event-name', reason: 'An event name is a string of 1 to %s characters', meaning: 'A stream subscription or event named no event, or one too long.' },
  // Sessions of the account page.
  sessionNotFound: { error: 'error-session-not-found', reason: 'Session not found', meaning: '`sessions:logout.me` named no session of the caller: unknown, already signed out, or another user\'s (the same answer for all three).' },
} satisfies Record<string, CatalogueEntry>);

export type MethodErrorName = keyof typeof METHOD_ERRORS;

/** Build the `DdpError` of a catalogue entry, filling `%s` with `arg`. */
export function catalogueError(name: MethodErrorName, arg?: string | number, details?: unknown): DdpError {
  const entry: CatalogueEntry = METHOD_ERRORS[name];
  // A replacer function: a string replacement would expand `$&`, `$'`... found in a method name.
  const reason = arg === undefined ? entry.reason : entry.reason.replace('%s', () => String(arg));
  return new DdpError(entry.error, reason, details);
}

/**
 * Reasons of `{msg:'error'}` protocol errors: the frame was not understood. The connection stays
 * usable after each of them.
 */
export const PROTOCOL_ERRORS = Object.freeze({
  parseError: { reason: 'Parse error', meaning: 'The frame is not JSON, or not valid EJSON (a bad `$date`, `$binary`, unknown `$type`, a forbidden key such as `__proto__`, nesting too deep).' },
  badRequest: { reason: 'Bad request', meaning: 'The frame is JSON but not a DDP message (no `msg`, an unknown `msg`, a non-object).' },
  mustConnectFirst: { reason: 'Must connect first', meaning: 'A message other than `connect` (a `ping` too) arrived before the handshake.' },
  alreadyConnected: { reason: 'Already connected', meaning: 'A second `connect` on a connected socket.' },
  malformedMethod: { reason: 'Malformed method invocation', meaning: '`method` without a string `id` or `method`, with non-array `params` or a non-string `randomSeed`.' },
  malformedSubscription: { reason: 'Malformed subscription', meaning: '`sub` or `unsub` without a string `id`, `sub` without a string `name` or with non-array `params`.' },
} as const);

export type ProtocolErrorName = keyof typeof PROTOCOL_ERRORS;
