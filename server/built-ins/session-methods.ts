/**
 * The account page's view of the user's own sessions and security log, in Rocket.Chat's
 * device-management names where it has them (`sessions/list`, `sessions/logout.me` over REST
 * there; `sessions:list`, `sessions:logout.me` over DDP here), and `securityLog:list`.
 *
 * Think of an attacker holding a stolen session token but not the second factor. Reading
 * where the owner is signed in, or what happened to the account, asks for the second factor
 * like any guarded method: a client verified in the last few minutes (the trust window, bound
 * to its own token and fingerprint) passes, and so does a personal token the owner made to
 * skip the checks; a user without a factor proves the password. Signing a session out asks
 * every time, like any account change (a bypass token too): otherwise the thief could sign
 * the owner out as fast as they sign in. Only the caller's own sessions can be named: another
 * user's session id is "not found", exactly like an unknown one.
 */
import { catalogueError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer, Services } from '../services/services.js';
import { callerOf } from '../calls/dispatcher.js';
import { Match } from '../calls/match.js';
import { audit } from '../accounts/audit.js';
import type { RevocationWatcher } from '../accounts/revocations.js';
import type { SecurityLogPage, SessionInfo } from '../../protocol/account.js';
import { sessionIdOf, sessionInfoOf } from '../accounts/sessions.js';
import { readSecurityLog, SECURITY_LOG_MAX_PAGE } from '../accounts/own-audit.js';

/** Reading: the second factor, unless the client was verified within the trust window. */
const ACCOUNT_READ = true;
/** Signing out a session: the second factor every time. */
const SESSION_CHANGE = Object.freeze({ requireSecondFactor: true, disableRememberMe: true });

export function installSessionMethods(server: DdpServer, container: ServiceContainer, revocations: RevocationWatcher): void {
  const svc = (): Promise<Services> => container.get();
  const userIdOf = (userId: string | null): string => {
    if (userId === null) throw catalogueError('notLoggedIn');
    return userId;
  };

  server.methods({
    'sessions:list': {
      requireUser: true,
      twoFactor: ACCOUNT_READ,
      params: [],
      async handler(): Promise<{ sessions: SessionInfo[] }> {
        const services = await svc();
        const caller = callerOf(this);
        const now = services.clock.now();
        const current = caller.login?.kind === 'session' ? caller.login.hashedToken : null;
        const tokens = await services.store.loginTokens.listForUser(userIdOf(this.userId));
        // Expired tokens no longer sign anyone in: not shown (the sweep removes them).
        const live = tokens.filter((t) => t.expiresAt === null || t.expiresAt.getTime() > now);
        // The current session first, then the most recently used.
        const sessions = live.map((t) => sessionInfoOf(t, current)).sort((a, b) =>
          Number(b.current) - Number(a.current) || ((b.lastUsedAt ?? b.loginAt).getTime() - (a.lastUsedAt ?? a.loginAt).getTime()));
        return { sessions };
      },
    },

    'sessions:logout.me': {
      requireUser: true,
      twoFactor: SESSION_CHANGE,
      params: [{ sessionId: Match.Text(64, 1) }],
      async handler({ sessionId }: { sessionId: string }): Promise<{ sessionId: string }> {
        const services = await svc();
        const userId = userIdOf(this.userId);
        const tokens = await services.store.loginTokens.listForUser(userId);
        const token = tokens.find((t) => sessionIdOf(t.hashedToken) === sessionId);
        if (!token || !(await services.store.loginTokens.remove(token.hashedToken))) throw catalogueError('sessionNotFound');
        // Its connections end now, on every process (#12), before the answer goes out.
        await revocations.revoked();
        await audit(services, 'session.revoked', userId, callerOf(this), { sessionId });
        return { sessionId };
      },
    },

    'securityLog:list': {
      requireUser: true,
      twoFactor: ACCOUNT_READ,
      // Rocket.Chat's paging names; both given, so a call says exactly what it reads.
      params: [{ offset: Match.Integer, count: Match.Integer }],
      async handler({ offset, count }: { offset: number; count: number }): Promise<SecurityLogPage> {
        const services = await svc();
        if (offset < 0 || count < 1 || count > SECURITY_LOG_MAX_PAGE) throw catalogueError('matchFailed');
        return readSecurityLog(services.store.audit, userIdOf(this.userId), offset, count);
      },
    },
  });
}
