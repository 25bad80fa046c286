/**
 * The `login` method: password (digest object or plain string), `{resume}` with a login token
 * or a personal access token, the 2FA answer `{totp: {login, code, method?}}`, and a
 * passwordless sign-in `{passkey: {response}}`. Wrong
 * password and unknown user get the same 403, so usernames cannot be probed.
 */
import { catalogueError } from '../../protocol/errors.js';
import { isRecord } from '../../protocol/validate.js';
import { MAX_PASSKEY_RESPONSE_LENGTH } from '../../protocol/two-factor.js';
import { passkeyLogin } from './passkey-login.js';
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { UserRecord } from '../storage/contract.js';
import type { TwoFactorGuard } from '../two-factor/guard.js';
import { passwordDigest } from '../security/password-hasher.js';
import { PasswordBlockedError } from '../accounts/password-checks.js';
import { authenticateToken, NEVER_EXPIRES, type LoginResult } from '../accounts/tokens.js';
import { tokenUseOf } from '../accounts/sessions.js';
import { issueSession, startSession, type SignIn } from './new-session.js';

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Meteor's login handlers `check` their options as exact objects: an unknown key fails. */
function onlyKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(value).every((k) => allowed.includes(k));
}

/**
 * A code is at most 128 characters, but a passkey answer (JSON text of an assertion, which a
 * client answering the default factor sends without naming it) may be longer.
 */
function codeLengthOk(code: string): boolean {
  return code.length <= 128 || (code.startsWith('{') && code.length <= MAX_PASSKEY_RESPONSE_LENGTH);
}

/** A password as Meteor's clients send it: `{digest, algorithm: 'sha-256'}`, or a plain string. */
export function passwordToDigest(password: unknown): string {
  if (typeof password === 'string') {
    if (password === '' || password.length > 256) throw catalogueError('matchFailed');
    return passwordDigest(password);
  }
  if (isRecord(password) && onlyKeys(password, ['digest', 'algorithm']) && password.algorithm === 'sha-256' && typeof password.digest === 'string' && HEX64.test(password.digest)) {
    return password.digest.toLowerCase();
  }
  throw catalogueError('matchFailed');
}

/** Find a user by Meteor's selector: `{username}`, `{email}`, `{id}`, or a string (username, else email). */
export async function findUserBySelector(services: Services, selector: unknown): Promise<UserRecord | null> {
  const users = services.store.users;
  if (typeof selector === 'string') {
    if (selector === '' || selector.length > 254) throw catalogueError('matchFailed');
    return (await users.findByUsername(selector)) ?? (await users.findByEmail(selector));
  }
  if (!isRecord(selector) || Object.keys(selector).length !== 1) throw catalogueError('matchFailed');
  const [key, value] = Object.entries(selector)[0]!;
  if (typeof value !== 'string' || value === '' || value.length > 254) throw catalogueError('matchFailed');
  if (key === 'username') return users.findByUsername(value);
  if (key === 'email') return users.findByEmail(value);
  if (key === 'id') return users.findById(value);
  throw catalogueError('matchFailed');
}

function selectorText(selector: unknown): string | undefined {
  if (typeof selector === 'string') return selector;
  if (isRecord(selector)) {
    const v = selector.username ?? selector.email;
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export interface LoginDeps {
  services: Services;
  guard: TwoFactorGuard;
}

/**
 * Check a password under the account's guessing budget: the same 403 for an unknown user and a
 * wrong password; Rocket.Chat's "blocked" errors while the account (from where the caller is)
 * or the caller's address is locked, before any comparison.
 */
export async function verifyPassword(guard: TwoFactorGuard, caller: Caller, user: UserRecord | null, digest: string): Promise<UserRecord> {
  let ok: boolean;
  try {
    ok = await guard.passwords.verify(user, digest, caller);
  } catch (err) {
    if (!(err instanceof PasswordBlockedError)) throw err;
    const details = { function: 'Accounts.validateLoginAttempt', timeToReset: err.lockedForMs };
    throw catalogueError(err.scope === 'ip' ? 'loginBlockedForIp' : 'loginBlockedForUser', undefined, details);
  }
  if (!user || !ok) throw catalogueError('loginFailed');
  return user;
}

/**
 * Signs the connection in as `user` with a new session token; with `trusted`, the code just
 * checked also vouches for this client on the new token. The store writes are one transaction
 * and the connection is logged in only once they are done: a failure leaves no session at all.
 */
export async function completePasswordLogin(services: Services, caller: Caller, user: UserRecord, trusted = false, signIn?: SignIn): Promise<LoginResult> {
  return startSession(caller, user, await issueSession(services, caller, user, trusted, signIn));
}

export async function login(deps: LoginDeps, caller: Caller, request: unknown): Promise<LoginResult> {
  const { services } = deps;
  if (!isRecord(request)) throw catalogueError('matchFailed');
  if ('resume' in request) {
    if (!onlyKeys(request, ['resume'])) throw catalogueError('matchFailed');
    return resume(services, caller, request.resume);
  }
  if ('passkey' in request) {
    const passkey = request.passkey;
    if (!onlyKeys(request, ['passkey']) || !isRecord(passkey) || !onlyKeys(passkey, ['response']) || !isRecord(passkey.response)) throw catalogueError('matchFailed');
    return passkeyLogin(services, deps.guard, caller, passkey.response);
  }
  let code: string | undefined;
  let method: string | undefined;
  let inner: unknown = request;
  if ('totp' in request) {
    const totp = request.totp;
    if (!onlyKeys(request, ['totp']) || !isRecord(totp) || !onlyKeys(totp, ['login', 'code', 'method'])
      || typeof totp.code !== 'string' || !codeLengthOk(totp.code) || !isRecord(totp.login)
      || (totp.method !== undefined && typeof totp.method !== 'string')) throw catalogueError('matchFailed');
    code = totp.code;
    method = typeof totp.method === 'string' ? totp.method : undefined;
    inner = totp.login;
  }
  if (!isRecord(inner) || !('user' in inner) || !('password' in inner)) throw catalogueError('unrecognizedLogin');
  if (!onlyKeys(inner, ['user', 'password'])) throw catalogueError('matchFailed');
  const digest = passwordToDigest(inner.password);
  const user = await verifyPassword(deps.guard, caller, await findUserBySelector(services, inner.user), digest);
  const emailOrUsername = selectorText(inner.user);
  // Login always asks when the user has a factor, whatever the trust; never the password again.
  const verified = await deps.guard.check({
    user, caller, isLogin: true,
    options: { disableRememberMe: true, disablePasswordFallback: true },
    ...(code === undefined ? {} : { code }),
    ...(method === undefined ? {} : { method }),
    ...(emailOrUsername === undefined ? {} : { emailOrUsername }),
  });
  // One code per sign-in: the code just checked also vouches for this client on the new
  // token, under the trust rules of any check (same fingerprint, this token only, for
  // trustedClientMs; disableRememberMe methods still ask), so the first guarded call does not
  // ask again for the code the app still shows (which the replay rule would refuse).
  return completePasswordLogin(services, caller, user, verified === 'code', { via: 'password', twoFactor: verified === 'code' });
}

async function resume(services: Services, caller: Caller, token: unknown): Promise<LoginResult> {
  if (typeof token !== 'string' || token === '' || token.length > 512) throw catalogueError('matchFailed');
  const found = await authenticateToken(services, token);
  if (found === null || found === 'expired') throw catalogueError('tokenExpired');
  const { login } = found;
  // The account page's session list shows when and where each session was last used.
  if (login.kind === 'session') await services.store.loginTokens.touch(login.hashedToken, tokenUseOf(caller, services.clock.now()));
  await caller.setUser(login.userId, login);
  return { id: login.userId, token, tokenExpires: found.expiresAt ?? NEVER_EXPIRES, type: 'resume' };
}
