/**
 * Trusted clients: after a successful check, the client is trusted for `trustedClientMs`. The
 * fingerprint is an HMAC (server secret) of its user-agent and address, stored on the login
 * token it used, so it is bound to that session and cannot be forged from public facts.
 */
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { TwoFactorOptions, TwoFactorPass } from '../calls/method-registry.js';
import { constantTimeEqual, hmacHex } from '../security/crypto.js';

/** A connection's user-agent and address never change: its fingerprint is computed once. */
const fingerprints = new WeakMap<object, string>();

export function fingerprint(services: Services, caller: Caller): string {
  const connection = caller.connection;
  const cached = connection ? fingerprints.get(connection) : undefined;
  if (cached !== undefined) return cached;
  const value = hmacHex(services.trustKey, 'trusted-client', connection?.httpHeaders['user-agent'] ?? '', connection?.clientAddress ?? '');
  if (connection) fingerprints.set(connection, value);
  return value;
}

/** How the trust rules let a caller skip the check, or `false`. */
export type TrustVerdict = Exclude<TwoFactorPass, 'code'> | false;

/**
 * Whether the caller may skip the check: a personal token with bypass (unless the method
 * requires a second factor), or a session token trusted for this very client, not expired.
 */
export async function isTrusted(services: Services, caller: Caller, options: TwoFactorOptions): Promise<TrustVerdict> {
  const quick = trustedFromMemory(services, caller, options);
  if (quick !== undefined) return quick;
  const login = caller.login!;
  const token = await services.store.loginTokens.find(login.hashedToken);
  if (!token || token.userId !== login.userId || !token.trust) return false;
  const until = token.trust.until.getTime();
  if (until <= services.clock.now()) return false;
  if (!constantTimeEqual(token.trust.fingerprint, fingerprint(services, caller))) return false;
  caller.twoFactorTrust = { hashedToken: login.hashedToken, until };
  return 'trust';
}

/**
 * The answer of the trust rules when it needs no store lookup: the rules that refuse trust,
 * a bypass token, or a trust mark of this very token already verified and not expired.
 * `undefined` means: look at the store.
 */
export function trustedFromMemory(services: Services, caller: Caller, options: TwoFactorOptions): TrustVerdict | undefined {
  const login = caller.login;
  if (!login || options.requireSecondFactor) return false;
  if (login.kind === 'personal') return login.bypassTwoFactor ? 'bypass' : false;
  if (options.disableRememberMe || services.options.trustedClientMs === 0) return false;
  const memo = caller.twoFactorTrust;
  if (memo && memo.hashedToken === login.hashedToken && memo.until > services.clock.now()) return 'trust';
  return undefined;
}

/** The trust mark a successful check earns this client now, or null when trust is off. */
export function trustMark(services: Services, caller: Caller): { fingerprint: string; until: Date } | null {
  if (services.options.trustedClientMs === 0) return null;
  return { fingerprint: fingerprint(services, caller), until: new Date(services.clock.now() + services.options.trustedClientMs) };
}

/** Remember a successful check for this client on its session token. */
export async function rememberClient(services: Services, caller: Caller): Promise<void> {
  const login = caller.login;
  if (!login || login.kind !== 'session' || services.options.trustedClientMs === 0) return;
  const until = services.clock.now() + services.options.trustedClientMs;
  await services.store.loginTokens.setTrust(login.hashedToken, { fingerprint: fingerprint(services, caller), until: new Date(until) });
  caller.twoFactorTrust = { hashedToken: login.hashedToken, until };
}
