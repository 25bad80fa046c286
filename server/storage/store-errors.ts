/**
 * Errors a store throws. Callers branch on the class (and `code`), never on message text.
 * @module
 */

/** Which unique value collided. */
export type ConflictField = 'username' | 'email' | 'name' | 'token' | 'credential';

/** A write would break a uniqueness rule (duplicate username, email, token name or hash, passkey credential id). */
export class StoreConflictError extends Error {
  readonly code = 'store-conflict';
  readonly field: ConflictField;

  constructor(field: ConflictField, message?: string) {
    super(message ?? `A record with this ${field} already exists`);
    this.name = 'StoreConflictError';
    this.field = field;
  }
}

/** A write referenced a user who does not exist. */
export class StoreNotFoundError extends Error {
  readonly code = 'store-not-found';
  readonly userId: string;

  constructor(userId: string) {
    super(`No user with id ${JSON.stringify(userId)}`);
    this.name = 'StoreNotFoundError';
    this.userId = userId;
  }
}

/**
 * The database is busy or locked past the bounded wait, or cannot be reached. The operation
 * did not happen; it is safe to retry later.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'store-unavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
