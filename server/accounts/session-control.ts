/**
 * Ending sessions when their tokens go away (logout elsewhere, password change, 2FA
 * enrolment): the connections that used those tokens are closed, as Meteor does.
 */
import { CLOSE_CODES } from '../../protocol/constants.js';
import type { LoginState } from '../caller.js';

/** The slice of a session accounts code needs. */
export interface LiveSession {
  readonly login: LoginState | null;
  close(code: number, reason: string): void;
}

export type SessionEnumerator = (fn: (session: LiveSession) => void) => void;

/** Close the user's sessions except the one using `keepHashedToken`; personal-token sessions stay unless `includePersonal`. */
export function closeUserSessions(each: SessionEnumerator, userId: string, keepHashedToken: string | null, includePersonal = false): number {
  let closed = 0;
  each((session) => {
    const login = session.login;
    if (!login || login.userId !== userId) return;
    if (login.hashedToken === keepHashedToken) return;
    if (login.kind === 'personal' && !includePersonal) return;
    session.close(CLOSE_CODES.normal, 'Logged out by the server');
    closed++;
  });
  return closed;
}

/** Close sessions authenticated with one token (a removed personal access token). */
export function closeTokenSessions(each: SessionEnumerator, hashedToken: string): void {
  each((session) => {
    if (session.login?.hashedToken === hashedToken) session.close(CLOSE_CODES.normal, 'Logged out by the server');
  });
}
