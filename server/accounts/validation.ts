/**
 * Checks of the values people type when an account is created or changed: usernames, email
 * addresses and passwords. Shared by the CLI and the accounts methods, so both accept and
 * reject exactly the same values. Each check returns the value to store (normalized where
 * that is safe) or throws a {@link ValidationError} whose message can be shown to a person.
 * @module
 */

/** Which value was rejected. */
export type ValidatedField = 'username' | 'email' | 'password';

/** A value a person typed is not acceptable; the message says why and what is allowed. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly code = 'invalid-input';

  constructor(
    /** The rejected field. */
    readonly field: ValidatedField,
    message: string,
  ) {
    super(message);
  }
}

/** Longest username, in characters. */
export const MAX_USERNAME_LENGTH = 64;
/** Longest email address, in characters (the limit of an SMTP forward path). */
export const MAX_EMAIL_LENGTH = 254;
/** Longest local part (before the `@`), in characters (RFC 5321). */
const MAX_LOCAL_PART_LENGTH = 64;
/** Longest password, in characters; bounds the work of hashing attacker input. */
export const MAX_PASSWORD_LENGTH = 256;

// Rocket.Chat's default username rule: ASCII letters, digits, '.', '_' and '-'.
const USERNAME = /^[A-Za-z0-9._-]+$/;
// The WHATWG rule for <input type=email>: a deliberate, practical subset of RFC 5322 that
// browsers already enforce, so what a form accepts the server accepts too.
const EMAIL_LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const EMAIL_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function requireString(field: ValidatedField, label: string, value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError(field, `The ${label} must be text, got ${describe(value)}.`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Shows a rejected value in a message without flooding it. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * A username: 1 to 64 characters, ASCII letters, digits, `.`, `_` and `-`. Returned unchanged
 * (stores compare usernames case-insensitively, but keep the spelling the person chose).
 * @throws ValidationError naming what is wrong.
 */
export function validateUsername(value: unknown): string {
  const username = requireString('username', 'username', value);
  if (username === '') throw new ValidationError('username', 'The username is empty: give 1 to 64 letters, digits, ".", "_" or "-".');
  if (username.length > MAX_USERNAME_LENGTH) {
    throw new ValidationError('username', `The username is ${username.length} characters long; the limit is ${MAX_USERNAME_LENGTH}.`);
  }
  if (!USERNAME.test(username)) {
    throw new ValidationError('username', `The username ${quote(username)} may only contain letters, digits, ".", "_" and "-".`);
  }
  return username;
}

/**
 * An email address, `local@domain`, at most 254 characters. The domain is lower-cased (domains
 * are case-insensitive); the local part is kept as typed, since a mail server may treat its
 * case as significant.
 * @returns the address to store.
 * @throws ValidationError naming what is wrong.
 */
export function validateEmail(value: unknown): string {
  const email = requireString('email', 'email address', value);
  if (email === '') throw new ValidationError('email', 'The email address is empty: give an address such as alice@example.com.');
  if (email.length > MAX_EMAIL_LENGTH) {
    throw new ValidationError('email', `The email address is ${email.length} characters long; the limit is ${MAX_EMAIL_LENGTH}.`);
  }
  const at = email.lastIndexOf('@');
  const local = email.slice(0, Math.max(at, 0));
  const domain = email.slice(at + 1);
  const valid =
    at > 0 && local.length <= MAX_LOCAL_PART_LENGTH && EMAIL_LOCAL.test(local) && EMAIL_DOMAIN.test(domain);
  if (!valid) {
    throw new ValidationError('email', `${quote(email)} is not a valid email address: expected something like alice@example.com.`);
  }
  return `${local}@${domain.toLowerCase()}`;
}

/**
 * A plain password: not empty, at most 256 characters. No composition rules: length limits
 * are the only ones that do not push people to weaker passwords (NIST SP 800-63B).
 * @returns the password unchanged.
 * @throws ValidationError naming what is wrong.
 */
export function validatePassword(value: unknown): string {
  const password = requireString('password', 'password', value);
  if (password === '') throw new ValidationError('password', 'The password is empty.');
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError('password', `The password is ${password.length} characters long; the limit is ${MAX_PASSWORD_LENGTH}.`);
  }
  return password;
}
