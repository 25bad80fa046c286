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
 * - `transaction(fn)` makes several operations one: all of them or none;
 * - writes that reference a user who does not exist throw `StoreNotFoundError`;
 * - a busy or unreachable database throws `StoreUnavailableError`.
 *
 * The counters of guesses and the feed of revoked tokens are in `guess-limit-contract.ts`; the
 * outcomes of recent calls (a re-sent call runs once) in `call-result-contract.ts`.
 * @module
 */
import type { AddressAttemptStore, AttemptStore, KnownAddressStore, RevocationStore } from './guess-limit-contract.js';

export type { AddressAttemptStore, AttemptPolicy, AttemptState, AttemptStore, KnownAddressStore, RevocationStore, RevokedToken } from './guess-limit-contract.js';
export { REVOCATION_OVERLAP_MS } from './guess-limit-contract.js';
import type { PasskeyStore, WebAuthnChallengeStore } from './passkey-contract.js';
import type { CallResultStore } from './call-result-contract.js';
export type { CallClaim, CallResultStore } from './call-result-contract.js';
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
  /** The last sign-in or resume with it, and from where (address, user agent as sent); null before one. */
  lastUsedAt: Date | null; clientAddress: string | null; userAgent: string | null;
}

/** A use of a login token, as {@link LoginTokenStore.touch} records it (false when the token is unknown). */
export type TokenUse = { at: Date } & Pick<LoginTokenRecord, 'clientAddress' | 'userAgent'>;

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
  /** At most this many entries (the oldest matching ones; the newest with `newestFirst`). */
  limit?: number;
  /** Newest first (ties: the later written first); skip `offset` matches first, in that order (paging). */
  newestFirst?: boolean; offset?: number;
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
  insert(rec: Omit<LoginTokenRecord, 'trust' | 'lastUsedAt' | 'clientAddress' | 'userAgent'> & Partial<Pick<LoginTokenRecord, 'lastUsedAt' | 'clientAddress' | 'userAgent'>>): Promise<void>;
  /** Returns the token even when expired: the caller decides (and may remove it). */
  find(hashedToken: string): Promise<LoginTokenRecord | null>;
  /** The user's tokens (expired ones too), oldest first: the "where am I signed in" list. */
  listForUser(userId: string): Promise<LoginTokenRecord[]>;
  touch(hashedToken: string, use: TokenUse): Promise<boolean>;
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

/** Append-only audit log. */
export interface AuditStore {
  append(rec: Omit<AuditRecord, 'id'>): Promise<void>;
  /** Matching entries, oldest first (ties in insertion order) or newest first, from `offset`, at most `limit`. */
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
  /** Outcomes of recent method calls by user and `randomSeed`, so a re-sent call runs once. */
  callResults: CallResultStore;
  /**
   * Runs `fn` as one transaction: the store calls it makes (found through the async context,
   * so `fn` takes no argument; wrappers of the store join too) take effect all when it resolves,
   * none when it throws (rethrown). Nested: part of the outer one. Keep `fn` to store calls
   * (memory and SQLite make other callers wait meanwhile), never a write that must survive a
   * failure (a failed attempt), and let store errors propagate (PostgreSQL cannot go on).
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases the database; the store is unusable afterwards. */
  close(): Promise<void>;
}

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
