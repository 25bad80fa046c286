/**
 * The built-in 2FA methods, with Rocket.Chat's names: enrol and confirm TOTP, disable it,
 * backup codes, email codes on and off, and sending an email code.
 */
import { catalogueError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer, Services } from '../services/services.js';
import type { UserRecord } from '../storage/contract.js';
import type { Caller } from '../calls/caller.js';
import { callerOf } from '../calls/dispatcher.js';
import { Match } from '../calls/match.js';
import { audit } from '../accounts/audit.js';
import type { RevocationWatcher } from '../accounts/revocations.js';
import { generateTotpSecret, totpKeyUri, verifyTotp } from '../two-factor/totp.js';
import { generateBackupCodes } from '../two-factor/backup-codes.js';
import { codeHash, openTotpSecret, sendEmailCode, verifiedAddresses } from '../two-factor/factors.js';
import { TwoFactorGuard } from '../two-factor/guard.js';

const CODE = Match.Text(128, 1);

/** Shortest time between two codes mailed to one user by `2fa:sendEmailCode`. */
export const EMAIL_RESEND_COOLDOWN_MS = 60_000;

async function currentUser(services: Services, caller: Caller): Promise<UserRecord> {
  const user = caller.userId === null ? null : await services.store.users.findById(caller.userId);
  if (!user) throw catalogueError('notLoggedIn');
  return user;
}

function newBackupCodes(services: Services): { codes: string[]; hashes: string[] } {
  const codes = generateBackupCodes(services.options.backupCodeCount, services.options.backupCodeLength);
  return { codes, hashes: codes.map((c) => codeHash(services, 'backup', c)) };
}

/**
 * Adding or changing a factor, or what receives codes: the user's existing factor every time
 * (never a trusted client, never a personal token's bypass), or the password when they have
 * none. A stolen session token cannot add the attacker's authenticator.
 */
const FACTOR_CHANGE = Object.freeze({ requireSecondFactor: true, disableRememberMe: true });

export function installTwoFactorMethods(server: DdpServer, container: ServiceContainer, guard: () => Promise<TwoFactorGuard>, revocations: RevocationWatcher): void {
  const svc = (): Promise<Services> => container.get();
  // Checking a code passed as the method's own parameter: the guard's rules (lock-out,
  // replay, attempts) with TOTP or a backup code, never trust — neither a trusted client nor
  // a personal token's bypass (`requireSecondFactor`) stands in for the code.
  const checkTotpParam = async (caller: Caller, user: UserRecord, code: string): Promise<void> => {
    await (await guard()).check({ user, caller, code, method: 'totp', options: { requireSecondFactor: true, disableRememberMe: true, disablePasswordFallback: true } });
  };

  /** The caller's user, with TOTP enabled and the code it passed verified. */
  const totpUserWithCode = async (services: Services, caller: Caller, code: string): Promise<UserRecord> => {
    const user = await currentUser(services, caller);
    if (!(await services.store.twoFactor.get(user.id)).totpEnabled) throw catalogueError('totpNotEnabled');
    await checkTotpParam(caller, user, code);
    return user;
  };

  server.methods({
    '2fa:enable': {
      secretResult: true,
      requireUser: true,
      twoFactor: FACTOR_CHANGE,
      params: [],
      async handler() {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        const state = await services.store.twoFactor.get(user.id);
        if (state.totpEnabled) throw catalogueError('totpAlreadyEnabled');
        const secret = generateTotpSecret();
        await services.store.transaction(async () => {
          await services.store.twoFactor.setPendingTotpSecret(user.id, services.totpBox.seal(secret, user.id));
          await audit(services, 'totp.enrolment-started', user.id, caller);
        });
        return { secret, url: totpKeyUri({ secret, accountName: user.emails[0]?.address ?? user.username, issuer: services.options.totpIssuer }) };
      },
    },

    '2fa:validateTempToken': {
      secretResult: true,
      requireUser: true,
      params: [CODE],
      async handler(code: string) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        const state = await services.store.twoFactor.get(user.id);
        if (state.totpEnabled) throw catalogueError('totpAlreadyEnabled');
        if (state.pendingTotpSecret === null) throw catalogueError('totpNotStarted');
        // The enrolment code counts against the TOTP factor like any other: guessing it is
        // limited, and a lock-out refuses even the right code until it ends.
        const pending = state.pendingTotpSecret;
        const confirmed: { step: number | null } = { step: null };
        const ctx = { user, caller, available: (await TwoFactorGuard.factorsOf(services, user)).available };
        await (await guard()).verifyLimited(ctx, 'totp', 'totp', async () => {
          confirmed.step = verifyTotp(openTotpSecret(services, user, pending), code, services.clock.now(), services.options.totpWindow);
          return confirmed.step === null ? 'invalid' : 'ok';
        });
        const step = confirmed.step as number;
        const { codes, hashes } = newBackupCodes(services);
        const keep = caller.login?.kind === 'session' ? caller.login.hashedToken : null;
        // TOTP on with its backup codes, the confirming code spent, the other sessions ended
        // and the audit entry: all of it or, on a failure, none (the next code can finish).
        await services.store.transaction(async () => {
          if (!(await services.store.twoFactor.enableTotp(user.id, hashes))) throw catalogueError('totpAlreadyEnabled');
          // The confirming code is spent too: it cannot be replayed against the guard.
          await services.store.twoFactor.recordTotpStep(user.id, step);
          await services.store.loginTokens.removeForUser(user.id, keep ?? undefined);
          await audit(services, 'totp.enabled', user.id, caller);
        });
        await revocations.revoked();
        services.userEvents.changed(user.id);
        return { codes };
      },
    },

    '2fa:disable': {
      requireUser: true,
      params: [CODE],
      async handler(code: string) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await totpUserWithCode(services, caller, code);
        await services.store.transaction(async () => {
          await services.store.twoFactor.disableTotp(user.id);
          await audit(services, 'totp.disabled', user.id, caller);
        });
        services.userEvents.changed(user.id);
        return true;
      },
    },

    '2fa:regenerateCodes': {
      secretResult: true,
      requireUser: true,
      params: [CODE],
      async handler(code: string) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await totpUserWithCode(services, caller, code);
        const { codes, hashes } = newBackupCodes(services);
        await services.store.transaction(async () => {
          await services.store.twoFactor.replaceBackupCodes(user.id, hashes);
          await audit(services, 'totp.backup-codes-regenerated', user.id, caller);
        });
        return { codes };
      },
    },

    '2fa:checkCodesRemaining': {
      requireUser: true,
      params: [],
      async handler() {
        const services = await svc();
        const user = await currentUser(services, callerOf(this));
        const state = await services.store.twoFactor.get(user.id);
        if (!state.totpEnabled) throw catalogueError('totpNotEnabled');
        return { remaining: state.backupCodesRemaining };
      },
    },

    '2fa:enableEmail': {
      requireUser: true,
      twoFactor: FACTOR_CHANGE,
      params: [],
      async handler() {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        if (verifiedAddresses(user).length === 0) throw catalogueError('emailNotVerified');
        await services.store.transaction(async () => {
          await services.store.twoFactor.setEmailEnabled(user.id, true);
          await audit(services, 'email-2fa.enabled', user.id, caller);
        });
        services.userEvents.changed(user.id);
        return true;
      },
    },

    '2fa:disableEmail': {
      requireUser: true,
      // Always asks (SPEC §3): neither a trusted client nor a personal token's bypass.
      twoFactor: FACTOR_CHANGE,
      params: [],
      async handler() {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        await services.store.transaction(async () => {
          await services.store.twoFactor.setEmailEnabled(user.id, false);
          await services.store.codes.removeForUser(user.id, 'email-2fa');
          await audit(services, 'email-2fa.disabled', user.id, caller);
        });
        services.userEvents.changed(user.id);
        return true;
      },
    },

    '2fa:sendEmailCode': {
      params: [Match.OneOf(Match.Text(254, 1), { emailOrUsername: Match.Text(254, 1) })],
      async handler(arg: string | { emailOrUsername: string }) {
        const services = await svc();
        const who = typeof arg === 'string' ? arg : arg.emailOrUsername;
        const user = who.includes('@') ? await services.store.users.findByEmail(who) : await services.store.users.findByUsername(who);
        // The same answer whether or not the user exists, has email codes, or is locked out.
        if (!user) return;
        const state = await services.store.twoFactor.get(user.id);
        if (!state.emailEnabled || verifiedAddresses(user).length === 0) return;
        const now = services.clock.now();
        const attempts = await services.store.attempts.get(user.id, 'email', new Date(now));
        if (attempts.lockedUntil !== null && attempts.lockedUntil.getTime() > now) return;
        // One mail a minute per user, however many connections ask: no inbox flooding.
        const active = await services.store.codes.findActive(user.id, 'email-2fa', new Date(now));
        if (active && now - active.createdAt.getTime() < EMAIL_RESEND_COOLDOWN_MS) return;
        await sendEmailCode(services, user);
      },
    },
  });
}
