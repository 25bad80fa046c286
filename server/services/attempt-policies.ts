/**
 * The lock-out policies of each kind of guess, from the options: second-factor codes, passwords
 * per account (and per known address), passwords per client address.
 */
import type { ResolvedOptions } from './options.js';
import type { AttemptPolicy } from '../storage/contract.js';
import { hmacHex } from '../security/crypto.js';

/** Codes of a factor (TOTP, backup codes, email codes): the bound of docs/security.md. */
export function factorPolicy(o: ResolvedOptions): AttemptPolicy {
  return { maxFailures: o.maxFailedAttempts, baseLockMs: o.lockoutBaseMs, maxLockMs: o.lockoutMaxMs, decayMs: o.lockoutDecayMs };
}

/** Passwords of one account, counted from strangers' addresses together and from each known address alone. */
export function passwordPolicy(o: ResolvedOptions): AttemptPolicy {
  return { maxFailures: o.passwordMaxFailures, baseLockMs: o.lockoutBaseMs, maxLockMs: o.passwordLockoutMaxMs, decayMs: o.passwordLockoutDecayMs };
}

/** Wrong passwords from one client address, whatever the accounts. */
export function addressPolicy(o: ResolvedOptions): AttemptPolicy {
  return { maxFailures: o.addressMaxFailures, baseLockMs: o.lockoutBaseMs, maxLockMs: o.passwordLockoutMaxMs, decayMs: o.addressLockoutDecayMs };
}

/** The key a client address is counted and remembered under: keyed, so the store holds no addresses. */
export function addressKey(codeKey: Buffer, address: string): string {
  return hmacHex(codeKey, 'client-address', address).slice(0, 32);
}
