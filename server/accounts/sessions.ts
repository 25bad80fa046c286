/**
 * A user's sessions (their login tokens) as the account page shows them: a public id derived
 * from the token's hash (the token itself, and its hash, never leave the server), when it was
 * created, last used and expires, and where from.
 */
import type { Caller } from '../calls/caller.js';
import type { LoginTokenRecord, TokenUse } from '../storage/contract.js';
import { sha256Base64 } from '../security/crypto.js';
import { summariseUserAgent } from './user-agent.js';
import type { SessionInfo } from '../../protocol/account.js';

/**
 * The public id of a session: a hash of its token's stored hash, under its own label. Knowing
 * it grants nothing (finding the token from it means inverting sha-256 twice), and it is
 * stable, so the page and the audit trail can name a session.
 */
export function sessionIdOf(hashedToken: string): string {
  return sha256Base64(`ddp-guard session id\u0000${hashedToken}`).replace(/[+/=]/g, '').slice(0, 24);
}

/** Where a call comes from, as a token use: the caller's address and user agent, now. */
export function tokenUseOf(caller: Caller, at: number): TokenUse {
  const connection = caller.connection;
  return { at: new Date(at), clientAddress: connection?.clientAddress ?? null, userAgent: connection?.httpHeaders['user-agent'] ?? null };
}

/** A stored token as the page sees it; `currentHashedToken` marks the caller's own. */
export function sessionInfoOf(token: LoginTokenRecord, currentHashedToken: string | null): SessionInfo {
  return {
    sessionId: sessionIdOf(token.hashedToken),
    loginAt: token.createdAt,
    lastUsedAt: token.lastUsedAt,
    expiresAt: token.expiresAt,
    ip: token.clientAddress,
    userAgent: token.userAgent,
    device: summariseUserAgent(token.userAgent),
    current: token.hashedToken === currentHashedToken,
  };
}
