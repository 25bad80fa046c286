/**
 * User administration: create users, set passwords, verify emails, reset 2FA, remove and list
 * users. Shared by the CLI (`ddp-guard user ...`) and the server's accounts service, so both
 * apply the same validation, hashing and side effects (a new password signs out sessions; a
 * 2FA reset is audited).
 * @module
 */
import type { Clock } from '../runtime/clock.js';
import type { EmailRecord, Store, UserRecord } from '../storage/contract.js';
import { StoreConflictError } from '../storage/store-errors.js';
import { passwordDigest, type PasswordHasher } from '../security/password-hasher.js';
import { ValidationError, validateEmail, validatePassword, validateUsername } from './validation.js';
import { passwordPolicyViolation, policyError, type PasswordPolicy } from './password-policy.js';

/** What the administration functions need. Functions that do not hash take fewer. */
export interface AdminDeps {
  store: Store;
  hasher: PasswordHasher;
  clock: Clock;
  /**
   * The rules new passwords must follow (the CLI passes the server's); without it only the
   * length limits of {@link validatePassword} apply (tests and embedding code that seed users).
   */
  passwordPolicy?: PasswordPolicy;
}

/** A password the policy refuses, as the CLI says it: the catalogue's reason and the option. */
async function checkPolicy(deps: AdminDeps, password: string): Promise<void> {
  if (!deps.passwordPolicy) return;
  const violation = await passwordPolicyViolation(deps.passwordPolicy, password);
  if (!violation) return;
  const option = violation.rule === 'minLength' ? 'passwordMinLength' : 'refuseCommonPasswords';
  throw new ValidationError('password', `${policyError(violation).reason ?? 'The password is refused'} (option ${option}).`);
}

/**
 * Names a user: a string is a username, or an email address when it contains `@`; `{id}` is
 * a user id (what the server has after a login).
 */
export type UserRef = string | { id: string };

/** Why an administration request failed; `exitCode` is the CLI's exit status for it. */
export type AdminErrorCode = 'user-not-found' | 'email-not-found' | 'username-taken' | 'email-taken';

const EXIT_CODES: Record<AdminErrorCode, number> = {
  'user-not-found': 3,
  'email-not-found': 3,
  'username-taken': 4,
  'email-taken': 4,
};

/** A request names a user or address that does not exist, or collides with an existing one. */
export class AdminError extends Error {
  override name = 'AdminError';
  /** 3 for something unknown, 4 for a duplicate (the CLI's exit statuses). */
  readonly exitCode: number;

  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
    this.exitCode = EXIT_CODES[code];
  }
}

/** Input of {@link createUserRecord}. */
export interface NewUserInput {
  username: string;
  email?: string;
  /** Plain password; omitted: the user can only get in through a password reset. */
  password?: string;
  /** Instead of `password`: its sha-256 hex digest, as Meteor's clients send it. */
  passwordDigest?: string;
  /** Mark the email verified (an admin vouches for it). @default false */
  verified?: boolean;
  profile?: Record<string, unknown>;
}

/** A user as listed: no password hash, 2FA as flags. Safe to print or send. */
export interface UserSummary {
  id: string;
  username: string;
  emails: EmailRecord[];
  createdAt: Date;
  hasPassword: boolean;
  twoFactor: {
    totp: boolean;
    email: boolean;
    backupCodesRemaining: number;
    /** How many passkeys the user has. */
    passkeys: number;
  };
}

/** The 2FA attempt counters a reset clears: one per factor the guard counts. */
export const TWO_FACTOR_FACTORS = Object.freeze(['passkey', 'totp', 'email', 'password', 'backup'] as const);

function describeRef(ref: UserRef): string {
  return typeof ref === 'string' ? ref : `with id ${ref.id}`;
}

/** Finds a user by id, username or (when the string contains `@`) email; null when unknown. */
export async function findUser(store: Store, ref: UserRef): Promise<UserRecord | null> {
  if (typeof ref !== 'string') return store.users.findById(ref.id);
  return ref.includes('@') ? store.users.findByEmail(ref) : store.users.findByUsername(ref);
}

/**
 * Like {@link findUser}, for requests that need the user to exist.
 * @throws AdminError `user-not-found` ("no user 'x'", exit code 3).
 */
export async function getUser(store: Store, ref: UserRef): Promise<UserRecord> {
  const user = await findUser(store, ref);
  if (!user) {
    throw new AdminError('user-not-found', typeof ref === 'string' ? `no user '${ref}'` : `no user ${describeRef(ref)}`);
  }
  return user;
}

/**
 * Creates a user: validates the input, hashes `sha256(password)` with bcrypt (Meteor's scheme)
 * and stores the user, in one transaction with the store writes of `alsoWrite`.
 * @throws ValidationError for a bad username, email or password.
 * @throws AdminError `username-taken` / `email-taken` (exit code 4) on a duplicate.
 */
export async function createUserRecord(deps: AdminDeps, input: NewUserInput, alsoWrite?: (user: UserRecord) => Promise<void>): Promise<UserRecord> {
  const username = validateUsername(input.username);
  const email = input.email === undefined ? undefined : validateEmail(input.email);
  const password = input.password === undefined ? undefined : validatePassword(input.password);
  if (password !== undefined) await checkPolicy(deps, password);
  // Checked before hashing so a duplicate fails fast instead of after bcrypt's deliberate
  // slowness; the store's unique indexes still decide when two requests race.
  if (await deps.store.users.findByUsername(username)) throw taken('username', username);
  if (email !== undefined && (await deps.store.users.findByEmail(email))) throw taken('email', email);
  const digest = password !== undefined ? passwordDigest(password) : input.passwordDigest;
  const passwordHash = digest === undefined ? null : await deps.hasher.hash(digest);
  try {
    // One transaction with what the caller writes for the new user (its audit entry, its
    // first session): a failure leaves no account, or the whole of it.
    return await deps.store.transaction(async () => {
      const user = await deps.store.users.create({
        username,
        emails: email === undefined ? [] : [{ address: email, verified: input.verified === true }],
        passwordHash,
        createdAt: new Date(deps.clock.now()),
        ...(input.profile === undefined ? {} : { profile: input.profile }),
      });
      await alsoWrite?.(user);
      return user;
    });
  } catch (err) {
    if (err instanceof StoreConflictError && err.field === 'username') throw taken('username', username);
    if (err instanceof StoreConflictError && err.field === 'email' && email !== undefined) throw taken('email', email);
    throw err;
  }
}

function taken(field: 'username' | 'email', value: string): AdminError {
  return field === 'username'
    ? new AdminError('username-taken', `username '${value}' is taken`)
    : new AdminError('email-taken', `email '${value}' is already used`);
}

/** Result of {@link setUserPassword}. */
export interface PasswordChange {
  user: UserRecord;
  /** Login tokens removed (sessions signed out). */
  tokensRemoved: number;
}

/**
 * Sets a user's password and removes their login tokens, because a password change must sign
 * out every other session (whoever knew the old password may hold one). Pending
 * password-reset tokens are removed too: they were issued for the old password.
 * @param options.keepHashedToken the caller's own session, kept when a user changes their
 *   own password.
 * @throws ValidationError for a bad password; AdminError `user-not-found`.
 */
export async function setUserPassword(
  deps: AdminDeps,
  ref: UserRef,
  password: string,
  options: { keepHashedToken?: string } = {},
): Promise<PasswordChange> {
  const plain = validatePassword(password);
  await checkPolicy(deps, plain);
  const user = await getUser(deps.store, ref);
  const hash = await deps.hasher.hash(passwordDigest(plain));
  const tokensRemoved = await deps.store.transaction(async () => {
    if (!(await deps.store.users.setPasswordHash(user.id, hash))) throw new AdminError('user-not-found', `no user '${user.username}'`);
    const removed = await deps.store.loginTokens.removeForUser(user.id, options.keepHashedToken);
    await deps.store.codes.removeForUser(user.id, 'reset-password');
    return removed;
  });
  return { user: { ...user, passwordHash: hash }, tokensRemoved };
}

/**
 * Marks email addresses of a user verified. Without `address`: the address the user was named
 * by when `ref` is an email, otherwise every address of the user.
 * @returns the addresses marked verified.
 * @throws AdminError `user-not-found`, or `email-not-found` when the user has no such address
 *   (or no address at all).
 */
export async function verifyUserEmail(deps: Pick<AdminDeps, 'store'>, ref: UserRef, address?: string): Promise<string[]> {
  const user = await getUser(deps.store, ref);
  const wanted = address ?? (typeof ref === 'string' && ref.includes('@') ? ref : undefined);
  const targets =
    wanted === undefined
      ? user.emails.map((e) => e.address)
      : user.emails.filter((e) => e.address.toLowerCase() === wanted.toLowerCase()).map((e) => e.address);
  if (targets.length === 0) {
    throw new AdminError(
      'email-not-found',
      wanted === undefined ? `user '${user.username}' has no email address` : `user '${user.username}' has no email '${wanted}'`,
    );
  }
  await deps.store.transaction(async () => {
    for (const target of targets) {
      if (!(await deps.store.users.setEmailVerified(user.id, target, true))) {
        throw new AdminError('email-not-found', `user '${user.username}' has no email '${target}'`);
      }
    }
  });
  return targets;
}

/**
 * Removes a user with their tokens, 2FA settings, codes and attempt counters. Audit entries
 * are kept (the trail outlives the account).
 * @returns the removed user.
 * @throws AdminError `user-not-found`.
 */
export async function removeUser(deps: Pick<AdminDeps, 'store'>, ref: UserRef): Promise<UserRecord> {
  const user = await getUser(deps.store, ref);
  if (!(await deps.store.users.remove(user.id))) throw new AdminError('user-not-found', `no user '${user.username}'`);
  return user;
}

/** Every user, oldest first, with their 2FA state and without secrets. */
export async function listUsers(deps: Pick<AdminDeps, 'store'>): Promise<UserSummary[]> {
  const users = await deps.store.users.list();
  return Promise.all(
    users.map(async (user): Promise<UserSummary> => {
      const [state, passkeys] = await Promise.all([deps.store.twoFactor.get(user.id), deps.store.passkeys.list(user.id)]);
      return {
        id: user.id,
        username: user.username,
        emails: user.emails.map((e) => ({ ...e })),
        createdAt: user.createdAt,
        hasPassword: user.passwordHash !== null,
        twoFactor: { totp: state.totpEnabled, email: state.emailEnabled, backupCodesRemaining: state.backupCodesRemaining, passkeys: passkeys.length },
      };
    }),
  );
}

/** Result of {@link resetUserTwoFactor}: the user and which factors were on before. */
export interface TwoFactorReset {
  user: UserRecord;
  wasTotpEnabled: boolean;
  wasEmailEnabled: boolean;
  /** Passkeys removed. */
  passkeysRemoved: number;
  /** Login tokens removed (sessions signed out: their trust was earned with the old factors). */
  tokensRemoved: number;
}

/** Where an administration request came from, for the audit entry. */
export interface AdminOrigin {
  clientAddress: string | null;
  userAgent: string | null;
}

/** The origin of requests made with the command line. */
export const CLI_ORIGIN: AdminOrigin = Object.freeze({ clientAddress: null, userAgent: 'cli' });

/**
 * Turns off every second factor of a user (for someone who lost their authenticator): TOTP
 * with its secrets and backup codes, email codes (and any pending one), passkeys, clears the
 * failed-attempt counters and lock-outs, and signs out every session (a running server closes
 * their connections when it reads the store's revocation feed). Audited as `2fa.reset` with
 * the actor.
 * @param actor who asked (for the audit entry), e.g. the operating-system user of the CLI.
 * @param origin where the request came from. @default {@link CLI_ORIGIN}
 * @throws AdminError `user-not-found`.
 */
export async function resetUserTwoFactor(
  deps: Pick<AdminDeps, 'store' | 'clock'>,
  ref: UserRef,
  actor: string,
  origin: AdminOrigin = CLI_ORIGIN,
): Promise<TwoFactorReset> {
  const { store } = deps;
  const user = await getUser(store, ref);
  const before = await store.twoFactor.get(user.id);
  const { tokensRemoved, passkeysRemoved } = await store.transaction(async () => {
    await store.twoFactor.disableTotp(user.id);
    await store.twoFactor.setEmailEnabled(user.id, false);
    await store.codes.removeForUser(user.id, 'email-2fa');
    const passkeysRemoved = await store.passkeys.removeForUser(user.id);
    for (const factor of TWO_FACTOR_FACTORS) await store.attempts.reset(user.id, factor);
    const tokensRemoved = await store.loginTokens.removeForUser(user.id);
    await auditAdminAction(deps, '2fa.reset', user.id, origin, { by: actor });
    return { tokensRemoved, passkeysRemoved };
  });
  return { user, wasTotpEnabled: before.totpEnabled, wasEmailEnabled: before.emailEnabled, passkeysRemoved, tokensRemoved };
}

/**
 * Ends every lock-out of a user and forgets their failed attempts (passwords from every
 * address, every factor). Audited as `account.unlocked` with the actor.
 * @returns how many counters were cleared.
 * @throws AdminError `user-not-found`.
 */
export async function unlockUser(
  deps: Pick<AdminDeps, 'store' | 'clock'>,
  ref: UserRef,
  actor: string,
  origin: AdminOrigin = CLI_ORIGIN,
): Promise<{ user: UserRecord; countersCleared: number }> {
  const { store } = deps;
  const user = await getUser(store, ref);
  const countersCleared = await store.transaction(async () => {
    const cleared = await store.attempts.removeForUser(user.id);
    await auditAdminAction(deps, 'account.unlocked', user.id, origin, { by: actor, countersCleared: cleared });
    return cleared;
  });
  return { user, countersCleared };
}

/** An audit entry for an administrator's action on a user, from `origin`. */
function auditAdminAction(deps: Pick<AdminDeps, 'store' | 'clock'>, action: string, userId: string, origin: AdminOrigin, details: Record<string, unknown>): Promise<void> {
  return deps.store.audit.append({ action, userId, clientAddress: origin.clientAddress, userAgent: origin.userAgent, at: new Date(deps.clock.now()), details });
}
