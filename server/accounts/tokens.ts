/**
 * Login tokens: random (256 bits), stored only as base64 sha-256 as Meteor does
 * (`Accounts._hashLoginToken`), with an expiry.
 */
import type { LoginState } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { TokenUse } from '../storage/contract.js';
import { randomToken, sha256Base64 } from '../security/crypto.js';

/** What `login`, `createUser` and `getNewToken` return (Meteor's shape). */
export interface LoginResult {
  id: string;
  token: string;
  tokenExpires: Date;
  /** How the user signed in: Meteor's login-handler names, and `passkey` for a passwordless sign-in. */
  type: 'password' | 'resume' | 'passkey';
}

/** Personal access tokens never expire; clients still want a date, so they get this one. */
export const NEVER_EXPIRES = new Date(8.64e15);

export function hashToken(token: string): string {
  return sha256Base64(token);
}

/** Options of {@link issueLoginToken}. */
export interface IssueOptions {
  /** When the token expires instead of after `loginTokenLifetimeMs` (`getNewToken` keeps the current expiry, as Meteor does). */
  expiresAt?: Date | null;
  /** Where the token is issued to (the account page's session list shows it). */
  use?: TokenUse;
}

/** Create and store a login token for a user. */
export async function issueLoginToken(services: Services, userId: string, options: IssueOptions = {}): Promise<{ token: string; hashedToken: string; expiresAt: Date | null }> {
  const token = randomToken(32);
  const hashedToken = hashToken(token);
  const now = services.clock.now();
  const lifetime = services.options.loginTokenLifetimeMs;
  const expiresAt = options.expiresAt !== undefined ? options.expiresAt : lifetime > 0 ? new Date(now + lifetime) : null;
  const use = options.use;
  await services.store.loginTokens.insert({
    hashedToken, userId, createdAt: new Date(now), expiresAt,
    ...(use === undefined ? {} : { lastUsedAt: use.at, clientAddress: use.clientAddress, userAgent: use.userAgent }),
  });
  return { token, hashedToken, expiresAt };
}

/** A token that authenticates: who, as what, and until when (`null`: a personal token, never). */
export interface TokenLogin {
  readonly login: LoginState;
  readonly expiresAt: Date | null;
}

/**
 * The login behind a session token or a personal access token: the one way a token is checked,
 * for `login({resume})` over DDP and `X-Auth-Token` over HTTP. `'expired'` for a session token
 * past its expiry (removed now, as Meteor's resume handler does), null for an unknown token or,
 * when `userId` is given (HTTP's `X-User-Id`), a token of another user. Using a personal token
 * records when it was last used.
 */
export async function authenticateToken(services: Services, token: string, userId?: string): Promise<TokenLogin | 'expired' | null> {
  const hashedToken = hashToken(token);
  const now = services.clock.now();
  const session = await services.store.loginTokens.find(hashedToken);
  if (session) {
    if (userId !== undefined && session.userId !== userId) return null;
    if (session.expiresAt !== null && session.expiresAt.getTime() <= now) {
      await services.store.loginTokens.remove(hashedToken);
      return 'expired';
    }
    return { login: { userId: session.userId, hashedToken, kind: 'session', bypassTwoFactor: false }, expiresAt: session.expiresAt };
  }
  const personal = await services.store.personalTokens.find(hashedToken);
  if (!personal || (userId !== undefined && personal.userId !== userId)) return null;
  await services.store.personalTokens.touch(hashedToken, new Date(now));
  return { login: { userId: personal.userId, hashedToken, kind: 'personal', bypassTwoFactor: personal.bypassTwoFactor }, expiresAt: null };
}
