/** Meteor-style random ids (`Random.id()`): 17 characters from an alphabet without look-alikes. */
import { randomBytes } from 'node:crypto';

export const ID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
export const ID_LENGTH = 17;

/** An unguessable id: bytes from the CSPRNG, rejection-sampled so every character is equally likely. */
export function randomId(length = ID_LENGTH): string {
  const n = ID_ALPHABET.length; // 54: accept bytes below 216 (4 × 54) to avoid modulo bias
  const limit = 256 - (256 % n);
  let id = '';
  while (id.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= limit) continue;
      id += ID_ALPHABET[byte % n];
      if (id.length === length) break;
    }
  }
  return id;
}
