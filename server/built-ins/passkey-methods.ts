/**
 * The passkey methods (SPEC §3c): enrol (`2fa:passkey:registrationOptions`, then
 * `2fa:passkey:register`), list, rename and remove the caller's passkeys, and the options of a
 * passwordless sign-in (`passkey:loginOptions`; the sign-in itself is `login({passkey})`).
 */
import { catalogueError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer, Services } from '../services/services.js';
import type { UserRecord } from '../storage/contract.js';
import { StoreConflictError } from '../storage/store-errors.js';
import type { Caller } from '../calls/caller.js';
import { callerOf } from '../calls/dispatcher.js';
import { Match } from '../calls/match.js';
import { audit } from '../accounts/audit.js';
import type { RevocationWatcher } from '../accounts/revocations.js';
import { TwoFactorGuard } from '../two-factor/guard.js';
import { callerBinding, creationOptions, parseRegistration, relyingParty, requestOptions, verifyRegistration } from '../two-factor/webauthn.js';

const NAME = Match.Text(64, 1);
const CREDENTIAL_ID = Match.Text(1024, 1);

/** Adding or removing a factor: the user's existing factor every time, or the password when they have none. */
const FACTOR_CHANGE = Object.freeze({ requireSecondFactor: true, disableRememberMe: true });
/**
 * Listing and renaming: as the account page's other reads (`sessions:list`, `securityLog:list`),
 * the second factor unless the client was verified within the trust window. The list tells
 * which devices the owner uses and when they last signed in with each; a rename could relabel
 * the owner's passkey so that they remove the wrong one. Neither is a factor change, so the
 * trust window (bound to the session token) and a bypass token's skip apply.
 */
const ACCOUNT_READ = true;

async function currentUser(services: Services, caller: Caller): Promise<UserRecord> {
  const user = caller.userId === null ? null : await services.store.users.findById(caller.userId);
  if (!user) throw catalogueError('notLoggedIn');
  return user;
}

export function installPasskeyMethods(server: DdpServer, container: ServiceContainer, revocations: RevocationWatcher): void {
  const svc = (): Promise<Services> => container.get();

  server.methods({
    '2fa:passkey:registrationOptions': {
      secretResult: true,
      requireUser: true,
      params: [],
      async handler() {
        const services = await svc();
        const user = await currentUser(services, callerOf(this));
        return creationOptions(services, relyingParty(services.options), user, await services.store.passkeys.list(user.id));
      },
    },

    '2fa:passkey:register': {
      requireUser: true,
      // A stolen session cannot add the attacker's passkey: the existing factor (or the password) is asked every time.
      twoFactor: FACTOR_CHANGE,
      params: [{ name: NAME, response: Match.Any }],
      async handler(arg: { name: string; response: unknown }) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        const response = parseRegistration(arg.response);
        const before = await TwoFactorGuard.factorsOf(services, user);
        const credential = response === null ? null : await verifyRegistration(services, relyingParty(services.options), user, response);
        if (credential === null) throw catalogueError('passkeyInvalid');
        const name = arg.name.trim() || 'Passkey';
        try {
          await services.store.passkeys.insert({ ...credential, userId: user.id, name, createdAt: new Date(services.clock.now()), lastUsedAt: null });
        } catch (err) {
          if (err instanceof StoreConflictError) throw catalogueError('passkeyInvalid');
          throw err;
        }
        // The first factor of an account: sessions opened before it (maybe an attacker's) end, as for TOTP.
        if (before.available.length === 0) {
          const keep = caller.login?.kind === 'session' ? caller.login.hashedToken : undefined;
          await services.store.loginTokens.removeForUser(user.id, keep);
          await revocations.revoked();
        }
        await audit(services, 'passkey.added', user.id, caller, { id: credential.id, name });
        services.userEvents.changed(user.id);
        return { id: credential.id, name };
      },
    },

    '2fa:passkey:list': {
      requireUser: true,
      twoFactor: ACCOUNT_READ,
      params: [],
      async handler() {
        const services = await svc();
        const user = await currentUser(services, callerOf(this));
        return (await services.store.passkeys.list(user.id)).map((p) => ({ id: p.id, name: p.name, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt }));
      },
    },

    '2fa:passkey:rename': {
      requireUser: true,
      twoFactor: ACCOUNT_READ,
      params: [{ id: CREDENTIAL_ID, name: NAME }],
      async handler(arg: { id: string; name: string }) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        const name = arg.name.trim();
        if (name === '' || !(await services.store.passkeys.rename(user.id, arg.id, name))) throw catalogueError('passkeyNotFound');
        await audit(services, 'passkey.renamed', user.id, caller, { id: arg.id, name });
        return true;
      },
    },

    '2fa:passkey:remove': {
      requireUser: true,
      twoFactor: FACTOR_CHANGE,
      params: [{ id: CREDENTIAL_ID }],
      async handler(arg: { id: string }) {
        const services = await svc();
        const caller = callerOf(this);
        const user = await currentUser(services, caller);
        if (!(await services.store.passkeys.remove(user.id, arg.id))) throw catalogueError('passkeyNotFound');
        await audit(services, 'passkey.removed', user.id, caller, { id: arg.id });
        services.userEvents.changed(user.id);
        return true;
      },
    },

    'passkey:loginOptions': {
      secretResult: true,
      params: [],
      async handler() {
        const services = await svc();
        return requestOptions(services, relyingParty(services.options), { binding: callerBinding(services, callerOf(this)) });
      },
    },
  });
}
