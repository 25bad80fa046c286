import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  timingSafeEqual,
} from 'node:crypto';
import { systemRandom, type RandomSource } from './random.js';

/** Lowercase hex SHA-256 of a UTF-8 string. */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * Base64 SHA-256 of a UTF-8 string. This is exactly Meteor's `Accounts._hashLoginToken`,
 * so login tokens stored by a Meteor app keep working.
 */
export function sha256Base64(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

/** Smallest token size accepted: below 128 bits a token is guessable offline. */
const MIN_TOKEN_BYTES = 16;

/**
 * A random, URL-safe token (base64url without padding).
 * @param bytes entropy in bytes; the default 32 gives 256 bits. At least 16.
 */
export function randomToken(bytes = 32, random: RandomSource = systemRandom): string {
  if (!Number.isInteger(bytes) || bytes < MIN_TOKEN_BYTES) {
    throw new RangeError(`randomToken: bytes must be an integer >= ${MIN_TOKEN_BYTES}, got ${bytes}`);
  }
  return random.bytes(bytes).toString('base64url');
}

/**
 * Compares two strings in time that depends on neither content nor where they differ.
 * Both sides are hashed first so `timingSafeEqual` always sees equal-length inputs; a
 * length mismatch therefore costs the same as a content mismatch.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  // The length check only matters for a sha-256 collision; it is evaluated after the
  // constant-time comparison so it adds no early exit.
  return timingSafeEqual(ha, hb) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

/**
 * Lowercase hex HMAC-SHA256 of several parts. Each part is length-prefixed (4-byte
 * big-endian byte length) so `("ab","c")` and `("a","bc")` never produce the same input.
 */
export function hmacHex(key: Buffer, ...parts: string[]): string {
  const mac = createHmac('sha256', key);
  const len = Buffer.alloc(4);
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    len.writeUInt32BE(bytes.length, 0);
    mac.update(len);
    mac.update(bytes);
  }
  return mac.digest('hex');
}

/** Fixed HKDF salt: domain separation from any other software using the same secret. */
const HKDF_SALT = Buffer.from('ddp-guard/hkdf/v1', 'utf8');

/**
 * Derives a 32-byte key for one purpose from a master secret (HKDF-SHA256). Different
 * purposes give independent keys, so leaking one (e.g. via a side channel on HMAC use)
 * says nothing about another.
 */
export function deriveKey(master: Buffer, purpose: string, length = 32): Buffer {
  if (purpose.length === 0) throw new TypeError('deriveKey: purpose label must not be empty');
  return Buffer.from(hkdfSync('sha256', master, HKDF_SALT, Buffer.from(purpose, 'utf8'), length));
}

/** Thrown by {@link SecretBox.open} on malformed, tampered or wrong-key input. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const SEAL_VERSION = 'v1';
const IV_BYTES = 12; // the GCM nonce size with no extra GHASH step
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Authenticated encryption of short strings (e.g. TOTP secrets at rest) with AES-256-GCM.
 *
 * Sealed form: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The version prefix lets a
 * later format coexist with stored v1 values. An optional `context` (e.g. the user id) is
 * bound as additional authenticated data, so a sealed value copied to another row fails
 * to open instead of silently becoming that row's secret.
 */
export class SecretBox {
  readonly #key: Buffer;
  readonly #random: RandomSource;

  /** @param key a 32-byte key, normally from `ServerSecret.deriveKey(purpose)`. */
  constructor(key: Buffer, random: RandomSource = systemRandom) {
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`SecretBox: key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
    this.#random = random;
  }

  /** A box whose key is derived from `master` for `purpose` (see {@link deriveKey}). */
  static fromMaster(master: Buffer, purpose: string): SecretBox {
    return new SecretBox(deriveKey(master, purpose));
  }

  /** Encrypts `plaintext`; every call uses a fresh random IV, so equal inputs differ. */
  seal(plaintext: string, context = ''): string {
    const iv = this.#random.bytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [SEAL_VERSION, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
  }

  /**
   * Decrypts a value made by {@link seal} with the same key and context.
   * @throws SecretBoxError if the text is malformed, of an unknown version, or fails
   *   authentication (tampered, wrong key, or wrong context).
   */
  open(text: string, context = ''): string {
    const parts = text.split('.');
    if (parts.length !== 4 || !parts.every((p) => B64URL.test(p))) {
      throw new SecretBoxError('SecretBox: malformed sealed value (expected v1.<iv>.<tag>.<ciphertext>)');
    }
    const [version, ivText, tagText, ctText] = parts as [string, string, string, string];
    if (version !== SEAL_VERSION) {
      throw new SecretBoxError(`SecretBox: unsupported sealed value version "${version}"`);
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('SecretBox: malformed sealed value (bad IV or tag length)');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      const pt = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
      return pt.toString('utf8');
    } catch {
      throw new SecretBoxError(
        'SecretBox: authentication failed (data tampered, or sealed with another key or context)',
      );
    }
  }
}
