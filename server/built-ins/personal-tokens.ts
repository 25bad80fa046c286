/**
 * Personal access tokens: they never expire, are stored hashed, shown once, and may bypass 2FA.
 * Creating, regenerating and removing one asks for the second factor.
 */
import { DdpError, catalogueError } from '../../protocol/errors.js';
import type { DdpServer } from '../ddp/ddp-server.js';
import type { ServiceContainer, Services } from '../services/services.js';
import { callerOf } from '../calls/dispatcher.js';
import { Match } from '../calls/match.js';
import { audit } from '../accounts/audit.js';
import { randomToken } from '../security/crypto.js';
import { StoreConflictError } from '../storage/store-errors.js';
import type { PersonalTokenRecord } from '../storage/contract.js';
import { hashToken } from '../accounts/tokens.js';
import type { RevocationWatcher } from '../accounts/revocations.js';

const NAME = Match.Text(100, 1);

function tokenMissing(): DdpError {
  return catalogueError('tokenNotFound');
}

/** The user's token of that name, or Rocket.Chat's 'does not exist' error. */
async function existingToken(services: Services, userId: string, name: string): Promise<PersonalTokenRecord> {
  const token = await services.store.personalTokens.findByName(userId, name);
  if (!token) throw tokenMissing();
  return token;
}

/**
 * Minting, renewing or revoking a token asks for the second factor every time: not a bypass
 * token, not a trusted client (a stolen session must not mint itself a way back in).
 */
const TOKEN_CHANGE = Object.freeze({ requireSecondFactor: true, disableRememberMe: true });

export function installPersonalTokenMethods(server: DdpServer, container: ServiceContainer, revocations: RevocationWatcher): void {
  const svc = (): Promise<Services> => container.get();
  const userIdOf = (userId: string | null): string => {
    if (userId === null) throw catalogueError('notLoggedIn');
    return userId;
  };

  server.methods({
    'personalAccessTokens:generateToken': {
      secretResult: true,
      requireUser: true,
      twoFactor: TOKEN_CHANGE,
      params: [{ tokenName: NAME, bypassTwoFactor: Match.Optional(Boolean) }],
      async handler({ tokenName, bypassTwoFactor }: { tokenName: string; bypassTwoFactor?: boolean }) {
        const services = await svc();
        const userId = userIdOf(this.userId);
        const token = randomToken(32);
        const caller = callerOf(this);
        try {
          // The token and its audit entry, or neither: a failure never uses the name up.
          await services.store.transaction(async () => {
            await services.store.personalTokens.insert({ hashedToken: hashToken(token), userId, name: tokenName, bypassTwoFactor: bypassTwoFactor === true, createdAt: new Date(services.clock.now()), lastUsedAt: null });
            await audit(services, 'token.created', userId, caller, { name: tokenName, bypassTwoFactor: bypassTwoFactor === true });
          });
        } catch (err) {
          if (err instanceof StoreConflictError && err.field === 'name') throw catalogueError('tokenNameTaken');
          throw err;
        }
        return token;
      },
    },

    'personalAccessTokens:regenerateToken': {
      secretResult: true,
      requireUser: true,
      twoFactor: TOKEN_CHANGE,
      params: [{ tokenName: NAME }],
      async handler({ tokenName }: { tokenName: string }) {
        const services = await svc();
        const userId = userIdOf(this.userId);
        await existingToken(services, userId, tokenName);
        const token = randomToken(32);
        await services.store.transaction(async () => {
          if (!(await services.store.personalTokens.replace(userId, tokenName, hashToken(token), new Date(services.clock.now())))) throw tokenMissing();
          await audit(services, 'token.regenerated', userId, callerOf(this), { name: tokenName });
        });
        await revocations.revoked();
        return token;
      },
    },

    'personalAccessTokens:removeToken': {
      requireUser: true,
      twoFactor: TOKEN_CHANGE,
      params: [{ tokenName: NAME }],
      async handler({ tokenName }: { tokenName: string }) {
        const services = await svc();
        const userId = userIdOf(this.userId);
        await existingToken(services, userId, tokenName);
        await services.store.transaction(async () => {
          if (!(await services.store.personalTokens.remove(userId, tokenName))) throw tokenMissing();
          await audit(services, 'token.removed', userId, callerOf(this), { name: tokenName });
        });
        await revocations.revoked();
        return true;
      },
    },

    'personalAccessTokens:list': {
      requireUser: true,
      params: [],
      async handler() {
        const services = await svc();
        const tokens = await services.store.personalTokens.list(userIdOf(this.userId));
        return tokens.map((t) => ({ name: t.name, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, bypassTwoFactor: t.bypassTwoFactor }));
      },
    },
  });
}
