/**
 * The two-factor guard: Rocket.Chat's `checkCodeForUser`, without its weaknesses. Trust rules,
 * factor selection, attempt limits with a doubling lock-out, and Rocket.Chat's error shapes.
 */
import { DdpError, catalogueError } from '../../protocol/errors.js';
import { isTwoFactorMethod, type TwoFactorErrorDetails, type TwoFactorMethod } from '../../protocol/two-factor.js';
import type { Caller } from '../caller.js';
import type { TwoFactorOptions } from '../methods.js';
import type { Services } from '../services.js';
import type { TwoFactorState, UserRecord } from '../storage/contract.js';
import { audit } from '../audit.js';
import { emailFactor, passwordFactor, replayData, totpFactor, verifiedAddresses, type ChallengeData, type Factor, type VerifyOutcome } from './factors.js';
import { KeyedSerializer } from './serial.js';
import { isTrusted, rememberClient, trustedFromMemory } from './trust.js';

export interface GuardRequest {
  user: UserRecord;
  caller: Caller;
  /** The code the client sent, if any. */
  code?: string;
  /** The factor the client named, if any. */
  method?: string;
  options: TwoFactorOptions;
  /** The `login` method: always asks when the user has a factor, never falls back to the password. */
  isLogin?: boolean;
  /** Echoed in the error details (login: what the user typed). */
  emailOrUsername?: string;
  /** The caller already failed {@link TwoFactorGuard.trusts}: do not look again. */
  trustChecked?: boolean;
}

/** Observers of guard outcomes (metrics). */
export type GuardEvent = 'required' | 'ok' | 'invalid' | 'locked' | 'replay' | 'trusted';

export class TwoFactorGuard {
  private readonly factors: Record<TwoFactorMethod, Factor>;
  private readonly listeners: ((event: GuardEvent, factor: TwoFactorMethod | null) => void)[] = [];
  private readonly serial = new KeyedSerializer();

  constructor(private readonly services: Services) {
    this.factors = { totp: totpFactor(services), email: emailFactor(services), password: passwordFactor(services) };
  }

  onEvent(fn: (event: GuardEvent, factor: TwoFactorMethod | null) => void): void {
    this.listeners.push(fn);
  }

  private emit(event: GuardEvent, factor: TwoFactorMethod | null): void {
    for (const fn of this.listeners) fn(event, factor);
  }

  /** The factors a user has enabled, in order of preference. */
  static availableMethods(user: UserRecord, state: TwoFactorState): TwoFactorMethod[] {
    const out: TwoFactorMethod[] = [];
    if (state.totpEnabled) out.push('totp');
    if (state.emailEnabled && verifiedAddresses(user).length > 0) out.push('email');
    return out;
  }

  /** Pass, or throw `totp-required` / `totp-invalid` / `totp-max-attempts`. */
  /**
   * The trust rules alone (a trusted client, a bypass token): true when the caller may skip the
   * check. Needs no user record, so the hook asks this first: a trusted call costs one token
   * lookup and an HMAC.
   */
  /** {@link trusts} when it needs no store lookup; `undefined` otherwise. */
  trustsFromMemory(caller: Caller, options: TwoFactorOptions): boolean | undefined {
    const quick = trustedFromMemory(this.services, caller, options);
    if (quick === true) this.emit('trusted', null);
    return quick;
  }

  async trusts(caller: Caller, options: TwoFactorOptions): Promise<boolean> {
    if (!(await isTrusted(this.services, caller, options))) return false;
    this.emit('trusted', null);
    return true;
  }

  /**
   * Pass, or throw `totp-required` / `totp-invalid` / `totp-max-attempts`. Resolves true when
   * a code was verified by this call (`login` then trusts the token it issues), false when
   * the caller was trusted or the user needed no code.
   */
  async check(request: GuardRequest): Promise<boolean> {
    const { user, caller, options } = request;
    const isLogin = request.isLogin === true;
    if (!isLogin && request.trustChecked !== true && (await this.trusts(caller, options))) return false;
    const state = await this.services.store.twoFactor.get(user.id);
    const available = TwoFactorGuard.availableMethods(user, state);
    const fallbackAllowed = !isLogin && user.passwordHash !== null && (options.requireSecondFactor === true || !options.disablePasswordFallback);
    // The client's choice counts only if the user has that factor: nothing is sent or verified otherwise.
    const named = request.method !== undefined && request.method !== '' ? request.method : undefined;
    const namedIsValid = named !== undefined && isTwoFactorMethod(named)
      && (available.includes(named) || (named === 'password' && available.length === 0 && fallbackAllowed));
    let selected: TwoFactorMethod | undefined = namedIsValid ? (named as TwoFactorMethod) : available[0];
    if (selected === undefined) {
      if (!fallbackAllowed) {
        if (options.requireSecondFactor && !isLogin) throw this.error('totpRequired', 'password', { codeGenerated: false }, request, available);
        return false; // the user has no factor and this method needs none beyond the login
      }
      selected = 'password';
    }
    const factor = this.factors[selected];
    const code = request.code;
    if (code !== undefined && code !== '' && named !== undefined && !namedIsValid) {
      this.emit('invalid', selected);
      throw this.error('totpInvalid', selected, { codeGenerated: false }, request, available);
    }
    if (code === undefined || code === '') {
      await this.refuseIfLocked(user, selected, request, available);
      const data = await factor.challenge(user, state);
      this.emit('required', selected);
      throw this.error('totpRequired', selected, data, request, available);
    }
    const invalidData = selected === 'email' ? () => this.emailDataAfterFailure(user, state) : undefined;
    await this.verifyLimited(user, selected, caller, request, available, () => factor.verify(user, state, code), invalidData);
    if (!options.disableRememberMe && !isLogin) await rememberClient(this.services, caller);
    return true;
  }

  /**
   * Verify a code under the factor's attempt limit: refused while the factor is locked, a
   * failure counted (see {@link recordFailure}), a success resets the count. Verifications of
   * one user's factor run one at a time, so parallel guesses are counted before the next one
   * is tried.
   */
  async verifyLimited(user: UserRecord, factor: TwoFactorMethod, caller: Caller, request: Pick<GuardRequest, 'emailOrUsername'>, available: TwoFactorMethod[], verify: () => Promise<VerifyOutcome>, invalidData?: () => Promise<ChallengeData>): Promise<void> {
    return this.serial.run(`${user.id}\u0000${factor}`, async () => {
      await this.refuseIfLocked(user, factor, request, available);
      const outcome = await verify();
      if (outcome === 'ok') {
        await this.services.store.attempts.reset(user.id, factor);
        this.emit('ok', factor);
        return;
      }
      if (outcome === 'replay') {
        this.emit('replay', factor);
        await audit(this.services, '2fa.replay-rejected', user.id, caller, { factor });
        // Say so, and when the next code comes: the user typed what the app shows.
        return this.recordFailure(user, factor, caller, request, available, () => replayData(this.services, user));
      }
      return this.recordFailure(user, factor, caller, request, available, invalidData);
    });
  }

  /**
   * Refuse with `totp-max-attempts` (and `lockedFor`) while `factor` is locked for this user.
   * Called before anything is sent or verified, so even the right code is refused.
   */
  async refuseIfLocked(user: UserRecord, factor: TwoFactorMethod, request: Pick<GuardRequest, 'emailOrUsername'>, available: TwoFactorMethod[]): Promise<void> {
    const now = this.services.clock.now();
    const attempts = await this.services.store.attempts.get(user.id, factor, new Date(now));
    if (attempts.lockedUntil !== null && attempts.lockedUntil.getTime() > now) {
      this.emit('locked', factor);
      throw this.error('totpMaxAttempts', factor, { codeGenerated: false }, request, available, attempts.lockedUntil.getTime() - now);
    }
  }

  /**
   * Count a failed attempt at `factor` (atomically, in the store) and throw: `totp-max-attempts`
   * when this failure started a lock-out (audited), `totp-invalid` otherwise. `invalidData`
   * gives the details of `totp-invalid` (the email factor reports its active code).
   */
  async recordFailure(user: UserRecord, factor: TwoFactorMethod, caller: Caller, request: Pick<GuardRequest, 'emailOrUsername'>, available: TwoFactorMethod[], invalidData?: () => Promise<ChallengeData>): Promise<never> {
    const now = this.services.clock.now();
    const after = await this.services.store.attempts.recordFailure(user.id, factor, new Date(now), {
      maxFailures: this.services.options.maxFailedAttempts,
      baseLockMs: this.services.options.lockoutBaseMs,
      maxLockMs: this.services.options.lockoutMaxMs,
    });
    if (after.lockedUntil !== null && after.lockedUntil.getTime() > now) {
      this.emit('locked', factor);
      await audit(this.services, '2fa.locked-out', user.id, caller, { factor, lockedUntil: after.lockedUntil.toISOString(), lockCount: after.lockCount });
      throw this.error('totpMaxAttempts', factor, { codeGenerated: false }, request, available, after.lockedUntil.getTime() - now);
    }
    this.emit('invalid', factor);
    const data = invalidData ? await invalidData() : { codeGenerated: false };
    throw this.error('totpInvalid', factor, data, request, available);
  }

  /** After a wrong email code: a new code is sent only if none is active any more. */
  private async emailDataAfterFailure(user: UserRecord, state: TwoFactorState): Promise<ChallengeData> {
    return this.factors.email.challenge(user, state);
  }

  private error(kind: 'totpRequired' | 'totpInvalid' | 'totpMaxAttempts', method: TwoFactorMethod, data: ChallengeData, request: Pick<GuardRequest, 'emailOrUsername'>, available: TwoFactorMethod[], lockedFor?: number): DdpError {
    // Rocket.Chat's key order: method, the factor's data, then availableMethods.
    const details: TwoFactorErrorDetails = { method, codeGenerated: data.codeGenerated } as TwoFactorErrorDetails;
    if (data.codeExpires !== undefined) details.codeExpires = data.codeExpires;
    if (request.emailOrUsername !== undefined) details.emailOrUsername = request.emailOrUsername;
    details.availableMethods = available;
    if (lockedFor !== undefined) details.lockedFor = lockedFor;
    if (data.reason !== undefined) details.reason = data.reason;
    if (data.nextCodeIn !== undefined) details.nextCodeIn = data.nextCodeIn;
    return catalogueError(kind, undefined, details);
  }
}
