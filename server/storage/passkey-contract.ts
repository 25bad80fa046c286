/**
 * The storage contract of passkeys: WebAuthn credentials and their single-use challenges (part
 * of the `Store`, under the same rules as `contract.ts`; run by the same contract suite).
 * @module
 */

/** A passkey (WebAuthn credential) of a user. */
export interface PasskeyRecord {
  /** The credential id, base64url; unique across all users. */
  id: string;
  userId: string;
  /** The user's label for it ("MacBook", "YubiKey"). */
  name: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  /** Transports the authenticator reported (`internal`, `usb`, `hybrid`, ...). */
  transports: string[];
  /** The credential may be synced (backed up) by its provider. */
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** The outcome of {@link PasskeyStore.recordUse}. */
export type PasskeyUse = 'ok' | 'regressed' | 'missing';

/** Passkeys (WebAuthn credentials). */
export interface PasskeyStore {
  /**
   * @throws StoreConflictError (`field: 'credential'`) when the credential id is stored already.
   * @throws StoreNotFoundError when the user does not exist.
   */
  insert(rec: PasskeyRecord): Promise<void>;
  /** The credential by id, whoever owns it. */
  find(id: string): Promise<PasskeyRecord | null>;
  /** The user's passkeys, oldest first. */
  list(userId: string): Promise<PasskeyRecord[]>;
  /** @returns false when the user has no passkey with this id. */
  rename(userId: string, id: string, name: string): Promise<boolean>;
  /** @returns false when the user has no passkey with this id. */
  remove(userId: string, id: string): Promise<boolean>;
  /** Removes every passkey of the user (an administrator's 2FA reset); returns how many. */
  removeForUser(userId: string): Promise<number>;
  /**
   * ATOMIC compare-and-set of the signature counter: stores `counter` and `lastUsedAt = now`
   * when `counter` is greater than the stored one, or both are 0 (an authenticator without a
   * counter). `'regressed'` (nothing written) when it is not; `'missing'` when the user has
   * no passkey with this id. Two concurrent uses with the same counter: one gets `'ok'`.
   */
  recordUse(userId: string, id: string, counter: number, now: Date): Promise<PasskeyUse>;
}

/** What a WebAuthn challenge was issued for. */
export type WebAuthnCeremony = 'registration' | 'second-factor' | 'sign-in';

/**
 * A WebAuthn challenge handed to a client, kept until it is answered (once) or expires. It is
 * bound to a user (registration, second factor) or, for a passwordless sign-in before anyone
 * is known, to the caller (`binding`).
 */
export interface WebAuthnChallengeRecord {
  /** base64url, as the client echoes it in `clientDataJSON`. */
  challenge: string;
  ceremony: WebAuthnCeremony;
  userId: string | null;
  binding: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** Single-use WebAuthn challenges, shared by every process on the store. */
export interface WebAuthnChallengeStore {
  /** @throws StoreNotFoundError when `userId` is given and the user does not exist. */
  put(rec: WebAuthnChallengeRecord): Promise<void>;
  /**
   * ATOMIC single use: removes and returns the unexpired challenge with this value, ceremony,
   * user and binding (both compared exactly, `null` with `null`). A challenge of another
   * user, binding or ceremony is neither returned nor removed. Concurrent calls: one gets it.
   */
  consume(
    challenge: string,
    ceremony: WebAuthnCeremony,
    owner: { userId: string | null; binding: string | null },
    now: Date,
  ): Promise<WebAuthnChallengeRecord | null>;
  /** Removes challenges with `expiresAt <= now`; returns how many. */
  removeExpired(now: Date): Promise<number>;
}
