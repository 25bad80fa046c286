/**
 * The storage contract: every store (memory, SQLite, PostgreSQL) implements these
 * interfaces, and one shared test suite (`test/storage/contract.ts`) runs against each.
 *
 * Rules every implementation follows:
 * - every method is async and every date is a `Date` (stores keep milliseconds);
 * - records handed out are copies: mutating them never changes the store;
 * - the operations marked ATOMIC are single-use or compare-and-set operations that stay
 *   correct when called concurrently (the 2FA guard relies on them instead of doing
 *   read-modify-write itself);
 * - writes that reference a user who does not exist throw `StoreNotFoundError`;
 * - a busy or unreachable database throws `StoreUnavailableError`.
 *
 * @module
 */
import type { PasskeyStore, WebAuthnChallengeStore } from './passkey-contract.js';

export * from './passkey-contract.js';

/** An email address of a user, with its verified flag (Meteor's `emails` shape). */
export interface EmailRecord {
  address: string;
  verified: boolean;
}

/** A user account. `passwordHash` is bcrypt of the sha-256 hex digest (Meteor-compatible). */
export interface UserRecord {
  /** 17-character Meteor-style random id. */
  id: string;
  username: string;
  emails: EmailRecord[];
  passwordHash: string | null;
  createdAt: Date;
  profile?: Record<string, unknown>;
}

/** What `UserStore.create` needs; the store picks the id. */
export interface NewUser {
  username: string;
  emails: EmailRecord[];
  passwordHash: string | null;
  profile?: Record<string, unknown>;
  /** Defaults to the current time; pass the server clock's time for testable code. */
  createdAt?: Date;
}

/** A trusted-client mark on a login token: the keyed fingerprint and when trust ends. */
export interface TrustRecord {
  fingerprint: string;
  until: Date;
}

/** A login (resume) token, stored only as its sha-256 hash. */
export interface LoginTokenRecord {
  hashedToken: string;
  userId: string;
  createdAt: Date;
  /** `null` means the token never expires. */
  expiresAt: Date | null;
  trust: TrustRecord | null;
}

/** A personal access token, stored only as its sha-256 hash; never expires. */
export interface PersonalTokenRecord {
  hashedToken: string;
  userId: string;
  /** Unique per user. */
  name: string;
  bypassTwoFactor: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A user's 2FA settings. A user without a stored row gets {@link defaultTwoFactorState}. */
export interface TwoFactorState {
  userId: string;
  totpEnabled: boolean;
  /** Ciphertext (AES-256-GCM, done by the caller); opaque to the store. */
  totpSecret: string | null;
  /** Ciphertext of a secret being set up, before the first code confirms it. */
  pendingTotpSecret: string | null;
  /** The last accepted TOTP time step (replay guard). */
  lastTotpStep: number | null;
  emailEnabled: boolean;
  backupCodesRemaining: number;
}

/** What a one-time code is for. */
export type CodePurpose = 'email-2fa' | 'verify-email' | 'reset-password';

/** A one-time code (email 2FA code, verification or reset token), stored only as a hash. */
export interface CodeRecord {
  userId: string;
  purpose: CodePurpose;
  codeHash: string;
  createdAt: Date;
  expiresAt: Date;
  /** Free-form payload, e.g. the address being verified. */
  data: string | null;
}

/**
 * A failed-attempt counter (of one user's factor, or of one client address). Failures are a
 * debt that only time pays off: one is forgiven per `decayMs` (see {@link AttemptPolicy}); a
 * success never clears it, so the owner signing in does not hand an attacker a fresh budget.
 */
export interface AttemptState {
  /** Failures not yet forgiven, as of `decayFrom` (`decayedAttemptState` brings them to now). */
  failures: number;
  /** When the current lock-out ends; `null` when the counter is not locked out. */
  lockedUntil: Date | null;
  /** Lock-outs since the failures were last all forgiven (for the audit trail and the admin). */
  lockCount: number;
  /** Where forgiveness is counted from; `null` when `failures` is 0. */
  decayFrom: Date | null;
}

/**
 * Lock-out policy passed to `recordFailure`: the failure that brings the debt to `maxFailures`
 * locks for `baseLockMs`, and each further failure (while the debt lasts) doubles the lock-out,
 * up to `maxLockMs`. One failure is forgiven per `decayMs`. The schedule is `nextAttemptState`
 * in `attempt-policy.ts`, shared by every store.
 */
export interface AttemptPolicy {
  /** The failure count whose failure locks first. */
  maxFailures: number;
  /** Length of the first lock-out; each further failure doubles it. */
  baseLockMs: number;
  /** Upper bound of a lock-out. */
  maxLockMs: number;
  /** One failure is forgiven per this much time. */
  decayMs: number;
}

/** One audit log entry: who did what, when, from where. */
export interface AuditRecord {
  id: number | string;
  at: Date;
  userId: string | null;
  action: string;
  clientAddress: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

/** Filters for {@link AuditStore.list}. */
export interface AuditQuery {
  userId?: string;
  /** Only entries with `at >= since`. */
  since?: Date;
  /** At most this many entries (the oldest matching ones). */
  limit?: number;
}

/** User accounts. Usernames and email addresses are unique, compared case-insensitively. */
export interface UserStore {
  /**
   * Creates a user with a fresh random id.
   * @throws StoreConflictError with `field` `'username'` or `'email'` on a duplicate.
   */
  create(input: NewUser): Promise<UserRecord>;
  findById(userId: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByUsername(username: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByEmail(address: string): Promise<UserRecord | null>;
  /** All users, oldest first. */
  list(): Promise<UserRecord[]>;
  /** @returns false when the user does not exist. */
  setPasswordHash(userId: string, hash: string | null): Promise<boolean>;
  /** @returns false when the user or the address (case-insensitive) is unknown. */
  setEmailVerified(userId: string, address: string, verified: boolean): Promise<boolean>;
  /**
   * Removes the user and everything that belongs to them (tokens, 2FA state, codes,
   * attempts, passkeys and WebAuthn challenges) in one transaction. Audit entries are kept: the trail must outlive the account.
   * @returns false when the user does not exist.
   */
  remove(userId: string): Promise<boolean>;
}

/** Login (resume) tokens. */
export interface LoginTokenStore {
  /**
   * @throws StoreNotFoundError when the user does not exist.
   * @throws StoreConflictError (`field: 'token'`) when the hash is already stored.
   */
  insert(rec: Omit<LoginTokenRecord, 'trust'>): Promise<void>;
  /** Returns the token even when expired: the caller decides (and may remove it). */
  find(hashedToken: string): Promise<LoginTokenRecord | null>;
  remove(hashedToken: string): Promise<boolean>;
  /** Removes the user's tokens except `exceptHashedToken`; returns how many. */
  removeForUser(userId: string, exceptHashedToken?: string): Promise<number>;
  /** Removes tokens with `expiresAt <= now`; returns how many. */
  removeExpired(now: Date): Promise<number>;
  /** Sets or clears the trusted-client mark; false when the token is unknown. */
  setTrust(hashedToken: string, trust: TrustRecord | null): Promise<boolean>;
}

/** Personal access tokens. */
export interface PersonalTokenStore {
  /**
   * @throws StoreConflictError (`field: 'name'`) when the user already has a token of that
   *   name, (`field: 'token'`) when the hash is already stored.
   * @throws StoreNotFoundError when the user does not exist.
   */
  insert(rec: PersonalTokenRecord): Promise<void>;
  find(hashedToken: string): Promise<PersonalTokenRecord | null>;
  findByName(userId: string, name: string): Promise<PersonalTokenRecord | null>;
  /** The user's tokens, oldest first. */
  list(userId: string): Promise<PersonalTokenRecord[]>;
  /**
   * Regenerates a token: new hash, `createdAt = now`, `lastUsedAt` cleared; keeps the name and
   * the bypass flag. @returns false when there is no such token.
   */
  replace(userId: string, name: string, newHashedToken: string, now: Date): Promise<boolean>;
  remove(userId: string, name: string): Promise<boolean>;
  /** Records a use. @returns false when the token is unknown. */
  touch(hashedToken: string, now: Date): Promise<boolean>;
}

/** Per-user 2FA state, backup codes and the TOTP replay guard. */
export interface TwoFactorStore {
  /** The user's state; defaults (nothing enabled, counts 0) when nothing is stored. */
  get(userId: string): Promise<TwoFactorState>;
  /** @throws StoreNotFoundError when the user does not exist. */
  setPendingTotpSecret(userId: string, ciphertext: string | null): Promise<void>;
  /**
   * ATOMIC: moves the pending secret to the active one, enables TOTP and replaces the backup
   * codes. @returns false when there is no pending secret or TOTP is already enabled.
   */
  enableTotp(userId: string, backupCodeHashes: string[]): Promise<boolean>;
  /**
   * Clears the secret, the pending secret, the last step and the backup codes.
   * @returns false when TOTP was not enabled (the clearing happens anyway).
   */
  disableTotp(userId: string): Promise<boolean>;
  /**
   * ATOMIC replay guard: sets `lastTotpStep = step` only when it is null or smaller.
   * Two concurrent calls with the same step: exactly one returns true.
   */
  recordTotpStep(userId: string, step: number): Promise<boolean>;
  /** @throws StoreNotFoundError when the user does not exist. */
  replaceBackupCodes(userId: string, hashes: string[]): Promise<void>;
  /** ATOMIC single use: concurrent calls with the same code, exactly one returns true. */
  consumeBackupCode(userId: string, hash: string): Promise<boolean>;
  /** @throws StoreNotFoundError when the user does not exist. */
  setEmailEnabled(userId: string, enabled: boolean): Promise<void>;
}

/** One-time codes: email 2FA codes, email verification and password reset tokens. */
export interface CodeStore {
  /**
   * Stores a code. For `'email-2fa'` it replaces the user's previous code of that purpose;
   * other purposes accumulate. @throws StoreNotFoundError when the user does not exist.
   */
  put(rec: CodeRecord): Promise<void>;
  /** The latest code with `expiresAt > now`, or null. */
  findActive(userId: string, purpose: CodePurpose, now: Date): Promise<CodeRecord | null>;
  /**
   * ATOMIC single use: removes and returns an unexpired code with this hash (and this user,
   * unless `userId` is null, as for a link token). Concurrent calls: exactly one gets it.
   */
  consume(
    userId: string | null,
    purpose: CodePurpose,
    codeHash: string,
    now: Date,
  ): Promise<CodeRecord | null>;
  /** @returns how many codes were removed. */
  removeForUser(userId: string, purpose: CodePurpose): Promise<number>;
  /** Removes codes with `expiresAt <= now`; returns how many. */
  removeExpired(now: Date): Promise<number>;
}

/**
 * Failed-attempt counters per user and factor (`totp`, `backup`, `email`, `password`, and
 * `password@<address key>` for a sign-in address the user is known at), with a doubling
 * lock-out that decays.
 */
export interface AttemptStore {
  /** The counter as stored; `lockedUntil` is null once `now` has reached it. */
  get(userId: string, factor: string, now: Date): Promise<AttemptState>;
  /**
   * ATOMIC: one more failure under `policy` (`nextAttemptState`), read and written with no
   * other failure counted in between. @returns the new state, as `get` would.
   * @throws StoreNotFoundError when the user does not exist.
   */
  recordFailure(
    userId: string,
    factor: string,
    now: Date,
    policy: AttemptPolicy,
  ): Promise<AttemptState>;
  /** Forget the counter (a 2FA reset). */
  reset(userId: string, factor: string): Promise<void>;
  /** Forget every counter of the user (an administrator's unlock); returns how many. */
  removeForUser(userId: string): Promise<number>;
}

/**
 * Failed sign-in counters per client address (a keyed hash of it), across every user: the
 * same schedule as {@link AttemptStore}, for addresses that guess at many accounts.
 */
export interface AddressAttemptStore {
  get(addressKey: string, now: Date): Promise<AttemptState>;
  /** ATOMIC, as {@link AttemptStore.recordFailure}. */
  recordFailure(addressKey: string, now: Date, policy: AttemptPolicy): Promise<AttemptState>;
  reset(addressKey: string): Promise<void>;
  /** Removes counters whose last failure was forgiven before `before`; returns how many. */
  removeIdle(before: Date): Promise<number>;
}

/**
 * Addresses a user signed in from with the right password (keyed hashes): wrong passwords from
 * them count on a counter of their own, so strangers guessing at the account cannot lock the
 * owner out at home.
 */
export interface KnownAddressStore {
  /** Records a successful password check from `addressKey` at `at`. @throws StoreNotFoundError. */
  remember(userId: string, addressKey: string, at: Date): Promise<void>;
  /** When the user last proved the password from that address, or null. */
  lastSuccess(userId: string, addressKey: string): Promise<Date | null>;
}

/** A login or personal access token that stopped working (removed, replaced, expired, its user removed). */
export interface RevokedToken {
  /** Increasing in the order the revocations were written (gaps allowed). */
  seq: number;
  hashedToken: string;
  at: Date;
}

/**
 * The feed of revoked tokens, written by the store itself in the same transaction as the
 * token's removal (every path: methods, admin commands, cascades, expiry sweeps), so every
 * server process sharing the store can end the connections that used a token.
 */
export interface RevocationStore {
  /** The newest entry's `seq`, or 0: where a reader that starts now begins. */
  latestSeq(): Promise<number>;
  /**
   * Entries with `seq > afterSeq`, oldest first, at most `limit`. A store whose transactions
   * may commit out of `seq` order (PostgreSQL) also returns, beyond the limit, the entries with
   * `seq <= afterSeq` written in the {@link REVOCATION_OVERLAP_MS} before entry `afterSeq`, so
   * one committed late is still seen; readers skip the `seq`s they already applied.
   */
  since(afterSeq: number, limit: number): Promise<RevokedToken[]>;
  /** Removes entries written before `before`; returns how many. */
  removeOlderThan(before: Date): Promise<number>;
}

/** Append-only audit log. */
export interface AuditStore {
  append(rec: Omit<AuditRecord, 'id'>): Promise<void>;
  /** Matching entries, oldest first (ties in insertion order), at most `limit`. */
  list(query: AuditQuery): Promise<AuditRecord[]>;
}

/** A complete store. */
export interface Store {
  /** `'memory'`, `'sqlite'`, … for logs and diagnostics. */
  readonly kind: string;
  users: UserStore;
  loginTokens: LoginTokenStore;
  personalTokens: PersonalTokenStore;
  twoFactor: TwoFactorStore;
  codes: CodeStore;
  attempts: AttemptStore;
  addressAttempts: AddressAttemptStore;
  knownAddresses: KnownAddressStore;
  revocations: RevocationStore;
  audit: AuditStore;
  passkeys: PasskeyStore;
  webauthnChallenges: WebAuthnChallengeStore;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases the database; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** How far back a PostgreSQL revocation read looks past its cursor (see {@link RevocationStore.since}). */
export const REVOCATION_OVERLAP_MS = 10_000;

/** The state of a user with no stored 2FA row. */
export function defaultTwoFactorState(userId: string): TwoFactorState {
  return {
    userId,
    totpEnabled: false,
    totpSecret: null,
    pendingTotpSecret: null,
    lastTotpStep: null,
    emailEnabled: false,
    backupCodesRemaining: 0,
  };
}
