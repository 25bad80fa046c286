/**
 * The memory store's state, shared by its sub-stores.
 * @module
 */
import type { AttemptState, AuditRecord, CodeRecord, LoginTokenRecord, PasskeyRecord, PersonalTokenRecord, RevokedToken, UserRecord, WebAuthnChallengeRecord } from '../contract.js';
import { StoreNotFoundError, StoreUnavailableError } from '../store-errors.js';

/** Stored 2FA row; backup codes as a set of hashes. */
export interface TwoFactorRow {
  totpEnabled: boolean;
  totpSecret: string | null;
  pendingTotpSecret: string | null;
  lastTotpStep: number | null;
  emailEnabled: boolean;
  backupCodes: Set<string>;
}

/** Copies a record so callers never hold a reference into the store (Dates included). */
export const copy = <T>(value: T): T => structuredClone(value);

const MAP_FIELDS = ['users', 'usernames', 'emails', 'loginTokens', 'personalTokens', 'twoFactor', 'attempts', 'addressAttempts', 'knownAddresses', 'passkeys'] as const;
type MapField = (typeof MAP_FIELDS)[number];

/** What a transaction of the memory store rolls back to. */
export interface MemorySnapshot {
  maps: Record<MapField, Map<string, unknown>>;
  codes: CodeRecord[];
  revoked: RevokedToken[];
  audit: AuditRecord[];
  webauthnChallenges: WebAuthnChallengeRecord[];
}

/** All the maps; `closed` makes use-after-close fail the way a real database would. */
export class MemoryData {
  closed = false;
  readonly users = new Map<string, UserRecord>();
  readonly usernames = new Map<string, string>();
  readonly emails = new Map<string, string>();
  readonly loginTokens = new Map<string, LoginTokenRecord>();
  readonly personalTokens = new Map<string, PersonalTokenRecord>();
  readonly twoFactor = new Map<string, TwoFactorRow>();
  codes: CodeRecord[] = [];
  readonly attempts = new Map<string, AttemptState>();
  readonly addressAttempts = new Map<string, AttemptState>();
  /** Last successful password check per `attemptKey(userId, addressKey)`. */
  readonly knownAddresses = new Map<string, Date>();
  revoked: RevokedToken[] = [];
  private nextRevocationSeq = 1;
  readonly audit: AuditRecord[] = [];
  nextAuditId = 1;
  /** Passkeys by credential id, in insertion order. */
  readonly passkeys = new Map<string, PasskeyRecord>();
  webauthnChallenges: WebAuthnChallengeRecord[] = [];

  /** Every removal or replacement of a token goes through here: it writes the revocation, as the SQL stores' triggers do. */
  removeToken(tokens: Map<string, unknown>, hashedToken: string): boolean {
    if (!tokens.delete(hashedToken)) return false;
    this.revoked.push({ seq: this.nextRevocationSeq++, hashedToken, at: new Date() });
    return true;
  }

  /** A deep copy of every map and list, for a transaction to roll back to. */
  snapshot(): MemorySnapshot {
    const maps = {} as Record<MapField, Map<string, unknown>>;
    for (const f of MAP_FIELDS) maps[f] = structuredClone(this[f] as Map<string, unknown>);
    return { maps, codes: structuredClone(this.codes), revoked: structuredClone(this.revoked), audit: structuredClone(this.audit), webauthnChallenges: structuredClone(this.webauthnChallenges) };
  }

  /** Puts back what {@link snapshot} copied (sequence numbers stay increasing: gaps are allowed). */
  restore(s: MemorySnapshot): void {
    for (const f of MAP_FIELDS) {
      const map = this[f] as Map<string, unknown>;
      map.clear();
      for (const [k, v] of s.maps[f]) map.set(k, v);
    }
    this.codes = s.codes;
    this.revoked = s.revoked;
    this.webauthnChallenges = s.webauthnChallenges;
    this.audit.length = 0;
    this.audit.push(...s.audit);
  }

  check(): void {
    if (this.closed) throw new StoreUnavailableError('The memory store is closed; open a new one');
  }

  requireUser(userId: string): void {
    this.check();
    if (!this.users.has(userId)) throw new StoreNotFoundError(userId);
  }

  twoFactorRow(userId: string): TwoFactorRow {
    this.requireUser(userId);
    let row = this.twoFactor.get(userId);
    if (!row) {
      row = {
        totpEnabled: false,
        totpSecret: null,
        pendingTotpSecret: null,
        lastTotpStep: null,
        emailEnabled: false,
        backupCodes: new Set(),
      };
      this.twoFactor.set(userId, row);
    }
    return row;
  }
}

/** Key of one (user, factor) counter. */
export const attemptKey = (userId: string, factor: string): string => `${userId}\u0000${factor}`;
