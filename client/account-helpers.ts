/**
 * Thin wrappers over the server's built-in two-factor and personal-access-token methods
 * (names as Rocket.Chat's, SPEC §3). Each goes through the client's two-factor retry, so
 * methods that need a code (disabling email codes, creating tokens) ask for one on their own.
 */
import { isRecord } from '../protocol/validate.js';
import { clientError } from './errors.js';
import { passwordDigest, type LoginPassword } from './account.js';
import type { TwoFactorAnswer } from './two-factor.js';
import type { SecurityLogPage, SessionInfo } from '../protocol/account.js';

/**
 * Calls a method through the client (queue, timeouts, and the two-factor retry unless
 * `options.twoFactor` is false).
 */
export type HelperInvoke = (method: string, params: unknown[], options?: { twoFactor?: boolean }) => Promise<unknown>;

/**
 * For methods that take the code as their own parameter: a `totp-invalid` there says that code
 * was wrong, so it goes to the caller instead of asking `onTwoFactorRequired` and appending
 * another code the method does not accept.
 */
const CODE_IS_PARAMETER = Object.freeze({ twoFactor: false });

/** The start of authenticator-app enrolment. */
export interface TotpEnrolment {
  /** The base32 secret, for manual entry. */
  secret: string;
  /** The `otpauth://` URL, for a QR code. */
  url: string;
}

/** A personal access token as `listAccessTokens` reports it (never the token itself). */
export interface AccessTokenInfo {
  name: string;
  [field: string]: unknown;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The parameters of a factor change: none, or the proof the caller already has. */
function proofParams(proof: TwoFactorAnswer | undefined): unknown[] {
  return proof === undefined ? [] : [{ twoFactorCode: proof.code, twoFactorMethod: proof.method ?? 'totp' }];
}

function unexpected(method: string, value: unknown): never {
  throw clientError('badResponse', `Unexpected answer from '${method}'`, { method, result: value });
}

/** Account security operations of one client: `client.account`. */
export class AccountHelpers {
  readonly #invoke: HelperInvoke;

  constructor(invoke: HelperInvoke) {
    this.#invoke = invoke;
  }

  /**
   * Start enrolling an authenticator app (`2fa:enable`). Confirm with {@link confirmTotp}.
   * Adding a factor proves the user's current one (or, without any, the password: `method:
   * 'password'` with the password's sha-256 hex as `code`): pass it as `proof` when already
   * known, or answer `onTwoFactorRequired`, which is asked otherwise.
   */
  async enableTotp(proof?: TwoFactorAnswer): Promise<TotpEnrolment> {
    const result = await this.#invoke('2fa:enable', proofParams(proof));
    if (isRecord(result) && typeof result.secret === 'string' && typeof result.url === 'string') return { secret: result.secret, url: result.url };
    return unexpected('2fa:enable', result);
  }

  /** Confirm enrolment with a first code (`2fa:validateTempToken`); returns the backup codes, shown once. */
  async confirmTotp(code: string): Promise<string[]> {
    return this.#codes('2fa:validateTempToken', code);
  }

  /** Turn the authenticator app off (`2fa:disable`). */
  async disableTotp(code: string): Promise<void> {
    const result = await this.#invoke('2fa:disable', [code], CODE_IS_PARAMETER);
    if (result === false) throw clientError('badResponse', 'The server refused to disable TOTP', { method: '2fa:disable' });
  }

  /** Replace the backup codes (`2fa:regenerateCodes`); returns the new ones, shown once. */
  async regenerateBackupCodes(code: string): Promise<string[]> {
    return this.#codes('2fa:regenerateCodes', code);
  }

  /** How many backup codes are left (`2fa:checkCodesRemaining`). */
  async backupCodesRemaining(): Promise<number> {
    const result = await this.#invoke('2fa:checkCodesRemaining', []);
    if (typeof result === 'number') return result;
    if (isRecord(result) && typeof result.remaining === 'number') return result.remaining;
    return unexpected('2fa:checkCodesRemaining', result);
  }

  /** Turn email codes on (`2fa:enableEmail`): like {@link enableTotp}, it proves the current factor. */
  async enableEmailCodes(proof?: TwoFactorAnswer): Promise<void> {
    await this.#invoke('2fa:enableEmail', proofParams(proof));
  }

  /** Turn email codes off (`2fa:disableEmail`); the server always asks for a code. */
  async disableEmailCodes(): Promise<void> {
    await this.#invoke('2fa:disableEmail', []);
  }

  /** Ask the server to email a code (`2fa:sendEmailCode`), for example before logging in. */
  async sendEmailCode(emailOrUsername: string): Promise<void> {
    await this.#invoke('2fa:sendEmailCode', [{ emailOrUsername }]);
  }

  /** Create a personal access token (`personalAccessTokens:generateToken`); returns the token, shown once. */
  async createAccessToken(name: string, options: { bypassTwoFactor?: boolean } = {}): Promise<string> {
    return this.#token('personalAccessTokens:generateToken', { tokenName: name, bypassTwoFactor: options.bypassTwoFactor ?? false });
  }

  /** Replace a personal access token (`personalAccessTokens:regenerateToken`); returns the new token. */
  async regenerateAccessToken(name: string): Promise<string> {
    return this.#token('personalAccessTokens:regenerateToken', { tokenName: name });
  }

  /** Revoke a personal access token (`personalAccessTokens:removeToken`). */
  async removeAccessToken(name: string): Promise<void> {
    await this.#invoke('personalAccessTokens:removeToken', [{ tokenName: name }]);
  }

  /** The user's personal access tokens (`personalAccessTokens:list`), without the secrets. */
  async listAccessTokens(): Promise<AccessTokenInfo[]> {
    const result = await this.#invoke('personalAccessTokens:list', []);
    const list = isRecord(result) && Array.isArray(result.tokens) ? result.tokens : result;
    if (!Array.isArray(list)) return unexpected('personalAccessTokens:list', result);
    return list.map((item: unknown) => {
      if (!isRecord(item)) return unexpected('personalAccessTokens:list', result);
      // Rocket.Chat's REST calls the field `name`; accept `tokenName` too.
      const name = typeof item.name === 'string' ? item.name : item.tokenName;
      if (typeof name !== 'string') return unexpected('personalAccessTokens:list', result);
      return { ...item, name };
    });
  }

  /** Where the user is signed in (`sessions:list`): asks for the second factor unless this client was verified recently. */
  async listSessions(): Promise<SessionInfo[]> {
    const result = await this.#invoke('sessions:list', []);
    if (isRecord(result) && Array.isArray(result.sessions)) return result.sessions as SessionInfo[];
    return unexpected('sessions:list', result);
  }

  /** Sign one session out (`sessions:logout.me`): its connections end at once; asks for the second factor every time. */
  async logoutSession(sessionId: string): Promise<void> {
    await this.#invoke('sessions:logout.me', [{ sessionId }]);
  }

  /** Sign every other session out (`removeOtherTokens`); a user with a second factor gives it. */
  async logoutOtherSessions(): Promise<void> {
    await this.#invoke('removeOtherTokens', []);
  }

  /**
   * Change the password (`changePassword`): the current one, and the second factor when the
   * user has one. Both leave the client only as sha-256 digests. Other sessions are signed out.
   */
  async changePassword(oldPassword: LoginPassword, newPassword: LoginPassword): Promise<void> {
    await this.#invoke('changePassword', [passwordDigest(oldPassword), passwordDigest(newPassword)]);
  }

  /** Ask for a reset mail (`forgotPassword`); the answer is the same whether or not the address is known. */
  async forgotPassword(email: string): Promise<void> {
    await this.#invoke('forgotPassword', [{ email }]);
  }

  /**
   * Finish a reset with the mailed token (`resetPassword`). Resolves with the login the server
   * made (a user without a second factor: log in with its `token`), or undefined: a user with
   * a factor signs in with the new password and the factor.
   */
  async resetPassword(token: string, newPassword: LoginPassword): Promise<{ id: string; token: string } | undefined> {
    const result = await this.#invoke('resetPassword', [token, passwordDigest(newPassword)], CODE_IS_PARAMETER);
    if (result === undefined || result === null) return undefined;
    if (isRecord(result) && typeof result.id === 'string' && typeof result.token === 'string') return { id: result.id, token: result.token };
    return unexpected('resetPassword', result);
  }

  /** A page of the user's own security log (`securityLog:list`), newest first; asks like {@link listSessions}. */
  async securityLog(options: { offset?: number; count?: number } = {}): Promise<SecurityLogPage> {
    const result = await this.#invoke('securityLog:list', [{ offset: options.offset ?? 0, count: options.count ?? 20 }]);
    if (isRecord(result) && Array.isArray(result.entries) && typeof result.hasMore === 'boolean') return result as unknown as SecurityLogPage;
    return unexpected('securityLog:list', result);
  }

  async #codes(method: string, code: string): Promise<string[]> {
    const result = await this.#invoke(method, [code], CODE_IS_PARAMETER);
    if (isRecord(result) && isStringArray(result.codes)) return result.codes;
    if (isStringArray(result)) return result;
    return unexpected(method, result);
  }

  async #token(method: string, argument: Record<string, unknown>): Promise<string> {
    const result = await this.#invoke(method, [argument]);
    // Rocket.Chat answers with the token itself; `{token}` is accepted too.
    if (typeof result === 'string') return result;
    if (isRecord(result) && typeof result.token === 'string') return result.token;
    return unexpected(method, result);
  }
}
