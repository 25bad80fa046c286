/**
 * A new session: its login token stored with where it was issued to, the trust mark of the
 * check that just passed, and the security log's sign-in entry, as one transaction; then the
 * connection logged in with it. Every way of signing in (password, email link, passkey) ends here.
 */
import type { Caller, LoginState } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { UserRecord } from '../storage/contract.js';
import { trustMark } from '../two-factor/trust.js';
import { issueLoginToken, NEVER_EXPIRES, type LoginResult } from '../accounts/tokens.js';
import { tokenUseOf } from '../accounts/sessions.js';
import { audit } from '../accounts/audit.js';

/** A new session's token, stored, and the trust mark stored on it (if any). */
export interface IssuedSession {
  token: string;
  hashedToken: string;
  expiresAt: Date | null;
  trustUntil: Date | null;
}

/** How a sign-in was proved, for the user's security log (`user.login`). */
export interface SignIn {
  via: 'password' | 'email-link' | 'passkey';
  twoFactor: boolean;
}

/**
 * Stores a new session for `user` (its token with where it was issued to, with `trusted` the
 * trust mark of this client, and with `signIn` the security log's entry) as one transaction, or
 * as part of the caller's. The connection is not logged in yet: see {@link startSession},
 * called once the writes are committed.
 */
export async function issueSession(services: Services, caller: Caller, user: UserRecord, trusted = false, signIn?: SignIn): Promise<IssuedSession> {
  return services.store.transaction(async () => {
    const issued = await issueLoginToken(services, user.id, { use: tokenUseOf(caller, services.clock.now()) });
    const mark = trusted ? trustMark(services, caller) : null;
    if (mark) await services.store.loginTokens.setTrust(issued.hashedToken, mark);
    // Resumes (reconnects, reloads) are not sign-ins and would drown them in the log.
    if (signIn) await audit(services, 'user.login', user.id, caller, { via: signIn.via, twoFactor: signIn.twoFactor });
    return { ...issued, trustUntil: mark?.until ?? null };
  });
}

/** Logs the connection in with a session stored by {@link issueSession}. */
export async function startSession(caller: Caller, user: UserRecord, issued: IssuedSession, type: LoginResult['type'] = 'password'): Promise<LoginResult> {
  const login: LoginState = { userId: user.id, hashedToken: issued.hashedToken, kind: 'session', bypassTwoFactor: false };
  await caller.setUser(user.id, login);
  if (issued.trustUntil) caller.twoFactorTrust = { hashedToken: issued.hashedToken, until: issued.trustUntil.getTime() };
  return { id: user.id, token: issued.token, tokenExpires: issued.expiresAt ?? NEVER_EXPIRES, type };
}
