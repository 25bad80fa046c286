/**
 * Login tokens: random (256 bits), stored only as base64 sha-256 as Meteor does
 * (`Accounts._hashLoginToken`), with an expiry.
 */
import type { Services } from '../services/services.js';
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

/**
 * Create and store a login token for a user. It expires after `loginTokenLifetimeMs`, or at
 * `expiresAtOverride` when given (`getNewToken` keeps the current token's expiry, as Meteor does).
 */
export async function issueLoginToken(services: Services, userId: string, expiresAtOverride?: Date | null): Promise<{ token: string; hashedToken: string; expiresAt: Date | null }> {
  const token = randomToken(32);
  const hashedToken = hashToken(token);
  const now = services.clock.now();
  const lifetime = services.options.loginTokenLifetimeMs;
  const expiresAt = expiresAtOverride !== undefined ? expiresAtOverride : lifetime > 0 ? new Date(now + lifetime) : null;
  await services.store.loginTokens.insert({ hashedToken, userId, createdAt: new Date(now), expiresAt });
  return { token, hashedToken, expiresAt };
}
