import { systemRandom, type RandomSource } from '../security/random.js';

/**
 * Lowercase letters and digits without the look-alikes 0/o, 1/l/i. Since input is
 * lower-cased before comparison, the upper-case forms (O, I, L) are excluded too. 31
 * symbols, so a 10-character code carries about 49.5 bits.
 */
export const BACKUP_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';

/** Defaults for backup codes (SPEC §7). */
export const BACKUP_CODE_DEFAULTS = Object.freeze({
  /** @default 12 */
  count: 12,
  /** @default 10 */
  length: 10,
});

/**
 * Generates distinct single-use backup codes, each character drawn uniformly
 * (`crypto.randomInt`, no modulo bias) from {@link BACKUP_CODE_ALPHABET}.
 * Store only `hmacHex(key, code)`; show the codes to the user once.
 */
export function generateBackupCodes(
  count: number = BACKUP_CODE_DEFAULTS.count,
  length: number = BACKUP_CODE_DEFAULTS.length,
  random: RandomSource = systemRandom,
): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) {
    throw new RangeError(`generateBackupCodes: count must be an integer in [1, 100], got ${count}`);
  }
  if (!Number.isInteger(length) || length < 8 || length > 64) {
    throw new RangeError(`generateBackupCodes: length must be an integer in [8, 64], got ${length}`);
  }
  const codes = new Set<string>();
  while (codes.size < count) {
    let code = '';
    for (let i = 0; i < length; i++) code += BACKUP_CODE_ALPHABET[random.int(BACKUP_CODE_ALPHABET.length)];
    codes.add(code);
  }
  return [...codes];
}

/**
 * Puts user input into the stored form: trimmed, spaces and dashes removed (people copy
 * codes grouped as "abcde-fghjk"), lower-cased (codes are case-insensitive). Look-alike
 * characters are not mapped; they are not in the alphabet, so such input simply fails.
 */
export function normalizeBackupCode(input: string): string {
  return input.trim().replace(/[\s-]+/g, '').toLowerCase();
}

/**
 * Whether `input` can only be a backup code (it has the backup codes' length once normalized):
 * the guard counts such guesses apart from TOTP codes, which are shorter.
 */
export function isBackupCodeShaped(input: string, length: number): boolean {
  return normalizeBackupCode(input).length === length;
}
