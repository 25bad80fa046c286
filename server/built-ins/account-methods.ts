/**
 * Meteor's account methods over DDP: `login`, `logout`, `getNewToken`, `removeOtherTokens`,
 * `createUser` (when sign-up is on), `sendVerificationEmail`, `verifyEmail`, `changePassword`,
 * `forgotPassword`, `resetPassword`. Rate limited by default like Meteor's accounts rule.
 */
import { DdpError, catalogueError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { Caller } from '../calls/caller.js';
import type { ServiceContainer, Services } from '../services/services.js';
import type { TwoFactorGuard } from '../two-factor/guard.js';
import { Match } from '../calls/match.js';
import { audit } from '../accounts/audit.js';
import { login, passwordToDigest, verifyPassword } from './login.js';
import { issueSession, startSession, type IssuedSession } from './new-session.js';
import { callerOf } from '../calls/dispatcher.js';
import { issueLoginToken, NEVER_EXPIRES, type LoginResult } from '../accounts/tokens.js';
import { tokenUseOf } from '../accounts/sessions.js';
import { consumeResetToken, consumeVerificationToken, sendResetEmail, sendVerificationEmail } from './email-flows.js';
import type { RevocationWatcher } from '../accounts/revocations.js';
import { createUserRecord, AdminError } from '../accounts/admin.js';
import { ValidationError } from '../accounts/validation.js';
import type { UserRecord } from '../storage/contract.js';
import { enforcePasswordPolicy, passwordPolicyOf } from '../accounts/password-policy.js';

/** A password parameter as the policy reads it: plain text, or only its digest. */
function policyInput(password: unknown): string | { digest: string } {
  return typeof password === 'string' ? password : { digest: passwordToDigest(password) };
}

/** Methods counted by the default accounts rate limit (Meteor's: per connection). */
export const RATE_LIMITED_ACCOUNT_METHODS: readonly string[] = Object.freeze([
  'login', 'createUser', 'forgotPassword', 'resetPassword', 'sendVerificationEmail', 'verifyEmail', '2fa:sendEmailCode',
  'passkey:loginOptions', '2fa:passkey:registrationOptions',
]);

const PASSWORD = Match.OneOf(Match.Text(256, 1), { digest: Match.Text(64, 64), algorithm: 'sha-256' });
const TOKEN = Match.Text(512, 1);

function requireLogin(caller: Caller): { userId: string; hashedToken: string | null } {
  if (caller.userId === null) throw catalogueError('notLoggedIn');
  return { userId: caller.userId, hashedToken: caller.login?.hashedToken ?? null };
}

/**
 * Store a new password hash, end every other session of the user and audit it: store writes
 * only (bcrypt runs before), for the caller's transaction. Run `revocations.revoked()` after it.
 */
async function storePassword(services: Services, caller: Caller, action: 'password.changed' | 'password.reset', userId: string, hash: string, keepHashedToken: string | null): Promise<void> {
  await services.store.users.setPasswordHash(userId, hash);
  await services.store.loginTokens.removeForUser(userId, keepHashedToken ?? undefined);
  await services.store.codes.removeForUser(userId, 'reset-password');
  await audit(services, action, userId, caller);
}

/** The session an email link signs in with (store writes only), or null when the user has a second factor (a link must not bypass it). */
async function sessionAfterLink(services: Services, guard: typeof TwoFactorGuard, caller: Caller, userId: string): Promise<{ user: UserRecord; issued: IssuedSession } | null> {
  const user = await services.store.users.findById(userId);
  if (!user) throw catalogueError('tokenExpired');
  if ((await guard.factorsOf(services, user)).available.length > 0) return null;
  return { user, issued: await issueSession(services, caller, user, false, { via: 'email-link', twoFactor: false }) };
}

export function installAccountMethods(server: DdpServer, container: ServiceContainer, guard: () => Promise<TwoFactorGuard>, GuardClass: typeof TwoFactorGuard, revocations: RevocationWatcher): void {
  const svc = (): Promise<Services> => container.get();
  server.methods({
    login: {
      secretResult: true,
      // One argument, whose shape `login()` checks (it differs per kind of login).
      params: [Match.Any],
      async handler(request: unknown) {
        return login({ services: await svc(), guard: await guard() }, callerOf(this), request);
      },
    },

    logout: {
      params: [],
      async handler() {
        const caller = callerOf(this);
        const services = await svc();
        const login = caller.login;
        await caller.setUser(null, null);
        // Every other connection resumed with this token ends too, as in Meteor.
        if (login?.kind === 'session' && (await services.store.loginTokens.remove(login.hashedToken))) await revocations.revoked();
      },
    },

    getNewToken: {
      secretResult: true,
      requireUser: true,
      params: [],
      async handler() {
        const caller = callerOf(this);
        const { userId } = requireLogin(caller);
        if (caller.login?.kind !== 'session') throw catalogueError('notSessionToken');
        const services = await svc();
        // Meteor: the new token expires when the current one does, so refreshing never
        // extends a session; a token removed or expired meanwhile gets nothing.
        const current = await services.store.loginTokens.find(caller.login.hashedToken);
        if (!current || current.userId !== userId || (current.expiresAt !== null && current.expiresAt.getTime() <= services.clock.now())) throw catalogueError('tokenExpired');
        const old = caller.login.hashedToken;
        // The new token in, the old one out, as one change: a failure leaves the old one working.
        const { issued, removed } = await services.store.transaction(async () => {
          const issued = await issueLoginToken(services, userId, { expiresAt: current.expiresAt, use: tokenUseOf(caller, services.clock.now()) });
          return { issued, removed: await services.store.loginTokens.remove(old) };
        });
        await caller.setUser(userId, { userId, hashedToken: issued.hashedToken, kind: 'session', bypassTwoFactor: false });
        // The old token stops working: connections still using it are logged out.
        if (removed) await revocations.revoked();
        return { id: userId, token: issued.token, tokenExpires: issued.expiresAt ?? NEVER_EXPIRES, type: 'resume' } satisfies LoginResult;
      },
    },

    removeOtherTokens: {
      requireUser: true,
      // Signing the other sessions out is an account change: a user with a second factor gives
      // it every time, or a stolen session could sign the owner out as fast as they sign in. A
      // user without one passes as in Meteor (its `logoutOtherClients` calls this).
      twoFactor: { requireSecondFactor: true, disableRememberMe: true, disablePasswordFallback: true },
      params: [],
      async handler() {
        const caller = callerOf(this);
        const { userId, hashedToken } = requireLogin(caller);
        const services = await svc();
        const count = await services.store.loginTokens.removeForUser(userId, hashedToken ?? undefined);
        if (count > 0) {
          await revocations.revoked();
          await audit(services, 'sessions.revoked-others', userId, caller, { count });
        }
      },
    },

    createUser: {
      secretResult: true,
      params: [{ username: Match.Text(64, 1), email: Match.Optional(Match.Text(254, 3)), password: PASSWORD, profile: Match.Optional(Object) }],
      async handler(options: { username: string; email?: string; password: string | { digest: string }; profile?: Record<string, unknown> }) {
        const services = await svc();
        if (!services.options.signup) throw catalogueError('signupsForbidden');
        const digest = passwordToDigest(options.password);
        await enforcePasswordPolicy(passwordPolicyOf(services.options), policyInput(options.password));
        let user;
        let session: IssuedSession | undefined;
        const caller = callerOf(this);
        try {
          // The account, its audit entry and its first session: all stored, or none.
          user = await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, {
            username: options.username,
            passwordDigest: digest,
            ...(options.email === undefined ? {} : { email: options.email }),
            ...(options.profile === undefined ? {} : { profile: options.profile }),
          }, async (created) => {
            await audit(services, 'user.created', created.id, caller, { via: 'signup' });
            session = await issueSession(services, caller, created);
          });
        } catch (err) {
          if (err instanceof AdminError) throw catalogueError(err.code === 'username-taken' ? 'usernameTaken' : 'emailTaken');
          if (err instanceof ValidationError) throw catalogueError('invalidAccountField', err.message);
          throw err;
        }
        if (options.email !== undefined) await sendVerificationEmail(services, user).catch((err: unknown) => services.logger.warn({ userId: user.id, err: String(err) }, 'could not send the verification email after sign-up'));
        return startSession(caller, user, session as IssuedSession);
      },
    },

    sendVerificationEmail: {
      requireUser: true,
      params: [Match.Optional(Match.Text(254, 3))],
      async handler(address?: string) {
        const services = await svc();
        const user = await services.store.users.findById(requireLogin(callerOf(this)).userId);
        if (!user) throw catalogueError('notLoggedIn');
        await sendVerificationEmail(services, user, address);
      },
    },

    verifyEmail: {
      secretResult: true,
      params: [TOKEN],
      async handler(token: string) {
        const services = await svc();
        const caller = callerOf(this);
        // The link spent, the address verified, the audit entry and the session: all or none.
        const { userId, session } = await services.store.transaction(async () => {
          const id = await consumeVerificationToken(services, token);
          await audit(services, 'email.verified', id, caller);
          return { userId: id, session: await sessionAfterLink(services, GuardClass, caller, id) };
        });
        services.userEvents.changed(userId);
        return session ? startSession(caller, session.user, session.issued) : undefined;
      },
    },

    changePassword: {
      requireUser: true,
      // An account change: the second factor every time, whatever the trust or the token
      // (a stolen session must not be able to lock the owner out). A user without a factor
      // proves the old password, a parameter — under the account's password budget.
      twoFactor: { requireSecondFactor: true, disableRememberMe: true, disablePasswordFallback: true },
      params: [PASSWORD, PASSWORD],
      async handler(oldPassword: unknown, newPassword: unknown) {
        const caller = callerOf(this);
        const { userId, hashedToken } = requireLogin(caller);
        const services = await svc();
        const user = await services.store.users.findById(userId);
        await verifyPassword(await guard(), caller, user, passwordToDigest(oldPassword)).catch((err: unknown) => {
          if (err instanceof DdpError && err.error === 403) throw catalogueError('incorrectPassword');
          throw err;
        });
        await enforcePasswordPolicy(passwordPolicyOf(services.options), policyInput(newPassword));
        // Hashed before the transaction: bcrypt must not hold the store for other callers.
        const hash = await services.hasher.hash(passwordToDigest(newPassword));
        await services.store.transaction(() => storePassword(services, caller, 'password.changed', userId, hash, hashedToken));
        await revocations.revoked();
        return { passwordChanged: true };
      },
    },

    forgotPassword: {
      params: [{ email: Match.Text(254, 3) }],
      async handler(options: { email: string }) {
        const services = await svc();
        const user = await services.store.users.findByEmail(options.email);
        // The same answer, after the same work, whether or not the address exists: the mail
        // leaves after the answer, and a delivery failure is logged, never told to the caller.
        if (user) {
          setImmediate(() => {
            sendResetEmail(services, user, options.email).catch((err: unknown) => {
              services.logger.warn({ userId: user.id, err: String(err) }, 'could not send a password-reset email');
            });
          });
        }
      },
    },

    resetPassword: {
      secretResult: true,
      params: [TOKEN, PASSWORD],
      async handler(token: string, newPassword: unknown) {
        const services = await svc();
        const digest = passwordToDigest(newPassword);
        // Before the token is consumed: a refused password leaves the link usable for a better one.
        await enforcePasswordPolicy(passwordPolicyOf(services.options), policyInput(newPassword));
        const caller = callerOf(this);
        const hash = await services.hasher.hash(digest);
        // The link spent, the password set, other sessions ended, the audit entry and the new
        // session: all or none, so a failure leaves the link usable for a retry.
        const session = await services.store.transaction(async () => {
          const userId = await consumeResetToken(services, token);
          await storePassword(services, caller, 'password.reset', userId, hash, null);
          return sessionAfterLink(services, GuardClass, caller, userId);
        });
        await revocations.revoked();
        return session ? startSession(caller, session.user, session.issued) : undefined;
      },
    },
  });
  const { accountsRateLimitCount, accountsRateLimitWindowMs } = server.options;
  server.addRateLimitRule({
    type: 'method',
    name: RATE_LIMITED_ACCOUNT_METHODS,
    connectionId: () => true,
    numRequests: accountsRateLimitCount,
    timeIntervalMs: accountsRateLimitWindowMs,
  });
}
