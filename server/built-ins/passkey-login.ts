/**
 * Passwordless sign-in: `login({passkey: {response}})` with an assertion for the challenge of
 * `passkey:loginOptions` on the same connection. The passkey (with user verification) is both
 * factors, so no second one is asked; failures count on the account's passkey counter.
 */
import { catalogueError, DdpError, METHOD_ERRORS } from '../../protocol/errors.js';
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { TwoFactorGuard } from '../two-factor/guard.js';
import { signInCandidate } from '../two-factor/passkey-factor.js';
import { callerBinding } from '../two-factor/webauthn.js';
import type { LoginResult } from '../accounts/tokens.js';
import { issueSession, startSession } from './new-session.js';

export async function passkeyLogin(services: Services, guard: TwoFactorGuard, caller: Caller, response: unknown): Promise<LoginResult> {
  const found = await signInCandidate(services, response);
  // An unknown credential, a user handle that does not match it: the answer of a wrong password.
  if (found === null) throw catalogueError('loginFailed');
  const { user } = found.candidate;
  const binding = callerBinding(services, caller);
  try {
    await guard.verifyLimited({ user, caller, available: ['passkey'] }, 'passkey', 'passkey', () => found.verify(binding));
  } catch (err) {
    // A refused answer says no more than a wrong password would; a lock-out says so.
    if (err instanceof DdpError && err.error === METHOD_ERRORS.totpInvalid.error) throw catalogueError('loginFailed');
    throw err;
  }
  // As after a password and a code: this client is trusted on the new token for the usual
  // window, and the sign-in is in the user's security log.
  const issued = await issueSession(services, caller, user, true, { via: 'passkey', twoFactor: true });
  return startSession(caller, user, issued, 'passkey');
}
