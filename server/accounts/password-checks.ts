/**
 * Every check of a password — `login`, `changePassword`, the guard's password fallback, over
 * DDP or HTTP, on any process — under one guessing budget kept in the store:
 *
 * - per account: wrong passwords from addresses the account has not signed in from recently
 *   share one counter; each address it has signed in from (within `knownAddressMs`) has a
 *   counter of its own. Strangers guessing at an account lock out strangers, not the owner at
 *   home or at the office;
 * - per client address, whatever the accounts it tries.
 *
 * A locked counter refuses before the password is compared, so a guess made while locked
 * tells nothing. Checks of one counter run one at a time in a process: parallel guesses are
 * counted before the next is compared.
 */
import { performance } from 'node:perf_hooks';
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { AttemptState, UserRecord } from '../storage/contract.js';
import { audit } from './audit.js';
import { addressKey, addressPolicy, passwordPolicy } from '../services/attempt-policies.js';
import { randomToken } from '../security/crypto.js';
import { KeyedSerializer } from '../runtime/serial.js';
import { noticeLockout } from './lock-notice.js';
import { passwordDigest, type PasswordHasher, type Reservation } from '../security/password-hasher.js';

/** Password checks are locked for this account (from where the caller is) or for the caller's address. */
export class PasswordBlockedError extends Error {
  constructor(readonly scope: 'user' | 'ip', readonly lockedForMs: number) {
    super(`password checks are locked for this ${scope === 'ip' ? 'address' : 'account'} for ${lockedForMs} ms`);
  }
}

// A bcrypt hash of nothing anyone knows, made once per hasher at the configured cost: compared
// against when the user does not exist or has no password, so every failure takes as long as
// a wrong password.
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();

function dummyHash(hasher: PasswordHasher, reservation: Reservation): Promise<string> {
  let hash = dummyHashes.get(hasher);
  if (!hash) {
    // Part of the check that needs it: admitted with it.
    hash = hasher.hash(passwordDigest(randomToken(32)), { reservation });
    dummyHashes.set(hasher, hash);
    hash.catch(() => dummyHashes.delete(hasher));
  }
  return hash;
}

/**
 * The counter that wrong passwords from addresses the account has not signed in from share;
 * each known address counts on `password@<address key>`.
 */
const STRANGERS = 'password';

/** Milliseconds until a counter's lock-out ends; 0 when it is not locked. */
function lockedFor(state: AttemptState, now: Date): number {
  return state.lockedUntil === null ? 0 : state.lockedUntil.getTime() - now.getTime();
}

export class PasswordChecks {
  private readonly serial = new KeyedSerializer();

  constructor(private readonly services: Services) {}

  /**
   * Whether `digest` (sha-256 hex) is `user`'s password; false for an unknown user or one
   * without a password, after the same work. A wrong one is counted.
   * @throws PasswordBlockedError while the account (from this caller's address) or the address
   *   is locked, and for the wrong password that locks it.
   * @throws PasswordHasherBusyError when the bcrypt pool is past its queue's bounds (at once,
   *   before the store is read), or when this check waited `passwordQueueMs` and still found no
   *   free worker; such a check was not made and is not counted as a guess.
   */
  async verify(user: UserRecord | null, digest: string, caller: Caller): Promise<boolean> {
    const services = this.services;
    const reservation = services.hasher.reserve();
    try {
      return await this.check(user, digest, caller, reservation);
    } finally {
      reservation.release();
    }
  }

  private async check(user: UserRecord | null, digest: string, caller: Caller, reservation: Reservation): Promise<boolean> {
    const services = this.services;
    // Checks of one counter wait for each other, then for a worker: a check whose time ran out
    // meanwhile is made only if a worker is free at once.
    const waitUntil = performance.now() + services.options.passwordQueueMs;
    const address = caller.connection?.clientAddress;
    const addrKey = address ? addressKey(services.codeKey, address) : null;
    const counter = user ? await this.counterOf(user, addrKey) : null;
    const serialKey = user ? `${user.id}\u0000${counter}` : `\u0000${addrKey ?? ''}`;
    return this.serial.run(serialKey, async () => {
      const now = new Date(services.clock.now());
      if (addrKey !== null) {
        const locked = lockedFor(await services.store.addressAttempts.get(addrKey, now), now);
        if (locked > 0) throw new PasswordBlockedError('ip', locked);
      }
      if (user && counter !== null) {
        const locked = lockedFor(await services.store.attempts.get(user.id, counter, now), now);
        if (locked > 0) throw new PasswordBlockedError('user', locked);
      }
      const stored = user?.passwordHash ?? null;
      // The dummy hash is made only when needed: its job would take a worker from this check.
      const ok = (await services.hasher.compare(digest, stored ?? (await dummyHash(services.hasher, reservation)), { waitUntil, reservation })) && stored !== null;
      if (ok && user) {
        if (addrKey !== null) await services.store.knownAddresses.remember(user.id, addrKey, now);
        return true;
      }
      const lock = await this.countFailure(user, counter, addrKey, caller, now);
      if (lock !== null) throw lock;
      return false;
    });
  }

  /** The counter a wrong password for `user` from `addrKey` counts on. */
  private async counterOf(user: UserRecord, addrKey: string | null): Promise<string> {
    const { store, options, clock } = this.services;
    if (addrKey === null || options.knownAddressMs === 0) return STRANGERS;
    const last = await store.knownAddresses.lastSuccess(user.id, addrKey);
    return last !== null && clock.now() - last.getTime() < options.knownAddressMs ? `${STRANGERS}@${addrKey}` : STRANGERS;
  }

  /** Count a wrong password on every counter it concerns; the lock-out it started, if any. */
  private async countFailure(user: UserRecord | null, counter: string | null, addrKey: string | null, caller: Caller, now: Date): Promise<PasswordBlockedError | null> {
    const services = this.services;
    let lock: PasswordBlockedError | null = null;
    if (addrKey !== null) {
      const after = await services.store.addressAttempts.recordFailure(addrKey, now, addressPolicy(services.options));
      if (after.lockedUntil !== null) {
        await audit(services, 'address.locked-out', null, caller, { lockedUntil: after.lockedUntil.toISOString(), failures: after.failures });
        lock = new PasswordBlockedError('ip', lockedFor(after, now));
      }
    }
    if (user && counter !== null) {
      const after = await services.store.attempts.recordFailure(user.id, counter, now, passwordPolicy(services.options));
      if (after.lockedUntil !== null) {
        await audit(services, 'password.locked-out', user.id, caller, {
          from: counter === STRANGERS ? 'new addresses' : 'a known address',
          lockedUntil: after.lockedUntil.toISOString(),
          failures: after.failures,
        });
        noticeLockout(services, user, 'password', after.lockedUntil, caller);
        lock = new PasswordBlockedError('user', lockedFor(after, now));
      }
    }
    return lock;
  }
}
