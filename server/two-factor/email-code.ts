import { systemRandom, type RandomSource } from '../security/random.js';

/** Number of digits in an emailed code. */
export const EMAIL_CODE_DIGITS = 6;

/**
 * A uniformly random 6-digit code, zero-padded ("004217"). Store only its keyed hash
 * (`hmacHex`), so a stolen database does not reveal codes by trying all 10^6.
 */
export function generateEmailCode(random: RandomSource = systemRandom): string {
  return random.int(10 ** EMAIL_CODE_DIGITS).toString().padStart(EMAIL_CODE_DIGITS, '0');
}

/** User input in stored form: whitespace removed (mail clients may wrap or space it). */
export function normalizeEmailCode(input: string): string {
  return input.replace(/\s+/g, '');
}
