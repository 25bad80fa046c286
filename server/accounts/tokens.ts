/**
 * Login tokens: random (256 bits), stored only as base64 sha-256 as Meteor does
 * (`Accounts._hashLoginToken`), with an expiry.
 */
import type { Services } from '../services/services.js';
import type { TokenUse } from '../storage/contract.js';
import { randomToken, sha256Base64 } from '../security/crypto.js';

/** What `login`, `createUser` and `getNewToken` return (Meteor's shape). */
export interface LoginResult {
  id: string;
  token: string;
  tokenExpires: Date;
  type: 'password' | 'resume';
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
