/**
 * The two-factor guard and what one check carries ({@link GuardRequest}, {@link CheckContext}).
 * @module
 */
import { DdpError, catalogueError } from '../../protocol/errors.js';
import { isTwoFactorMethod, type TwoFactorErrorDetails, type TwoFactorMethod } from '../../protocol/two-factor.js';
import type { Caller } from '../calls/caller.js';
import type { TwoFactorOptions, TwoFactorPass } from '../calls/method-registry.js';
import type { Services } from '../services/services.js';
import type { TwoFactorState, UserRecord } from '../storage/contract.js';
import { audit } from '../accounts/audit.js';
import { factorPolicy } from '../services/attempt-policies.js';
import { PasswordBlockedError, PasswordChecks } from '../accounts/password-checks.js';
import { noticeLockout } from '../accounts/lock-notice.js';
import { emailFactor, replayData, totpFactor, verifiedAddresses, type ChallengeData, type Factor, type VerifyOutcome } from './factors.js';
import { isBackupCodeShaped } from './backup-codes.js';
import { passkeyFactor } from './passkey-factor.js';
import { KeyedSerializer } from '../runtime/serial.js';
import { isTrusted, rememberClient, trustedFromMemory, type TrustVerdict } from './trust.js';

/** One check: who, the code and factor the client sent, and the method's 2FA options. */
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

/**
 * The counters a code is counted on: one per factor, and backup codes apart from TOTP codes —
 * guessing a backup code is hopeless, so a TOTP lock-out (an attacker's doing, as likely as
 * not) leaves the owner their backup codes.
 */
export type AttemptCounter = 'passkey' | 'totp' | 'backup' | 'email' | 'password';

/** What every step of one check needs to know, so errors carry the same details throughout. */
export interface CheckContext {
  readonly user: UserRecord;
  readonly caller: Caller;
  /** The user's enabled factors, in order of preference (`availableMethods` on the wire). */
  readonly available: TwoFactorMethod[];
  readonly emailOrUsername?: string;
}

/** Observers of guard outcomes (metrics). */
export type GuardEvent = 'required' | 'ok' | 'invalid' | 'locked' | 'replay' | 'trusted';

/**
 * The two-factor guard: Rocket.Chat's `checkCodeForUser`, without its weaknesses. Trust rules,
 * factor selection, attempt limits with a doubling lock-out that decays, and Rocket.Chat's
 * error shapes. One per server; the pipeline's two-factor hook and the built-in methods call it.
 */
export class TwoFactorGuard {
  /** Every password check (login, `changePassword`, the fallback below) under one budget. */
  readonly passwords: PasswordChecks;
  private readonly factors: Record<'passkey' | 'totp' | 'email', Factor>;
  private readonly listeners: ((event: GuardEvent, factor: TwoFactorMethod | null) => void)[] = [];
  private readonly serial = new KeyedSerializer();

  constructor(private readonly services: Services) {
    this.factors = { passkey: passkeyFactor(services), totp: totpFactor(services), email: emailFactor(services) };
    this.passwords = new PasswordChecks(services);
  }

  onEvent(fn: (event: GuardEvent, factor: TwoFactorMethod | null) => void): void {
    this.listeners.push(fn);
  }

  private emit(event: GuardEvent, factor: TwoFactorMethod | null): void {
    for (const fn of this.listeners) fn(event, factor);
  }

  /**
   * The factors a user has enabled, in order of preference: passkeys first (phishing-resistant),
   * then TOTP, then email. `passkeys` is how many the user has ({@link factorsOf} looks them up).
   */
  static availableMethods(user: UserRecord, state: TwoFactorState, passkeys = 0): TwoFactorMethod[] {
    const out: TwoFactorMethod[] = [];
    if (passkeys > 0) out.push('passkey');
    if (state.totpEnabled) out.push('totp');
    if (state.emailEnabled && verifiedAddresses(user).length > 0) out.push('email');
    return out;
  }

  /** The user's 2FA state and enabled factors, passkeys included, from the store. */
  static async factorsOf(services: Services, user: UserRecord): Promise<{ state: TwoFactorState; available: TwoFactorMethod[] }> {
    const [state, passkeys] = await Promise.all([services.store.twoFactor.get(user.id), services.store.passkeys.list(user.id)]);
    return { state, available: TwoFactorGuard.availableMethods(user, state, passkeys.length) };
  }

  /** {@link trusts} when it needs no store lookup; `undefined` otherwise. */
  trustsFromMemory(caller: Caller, options: TwoFactorOptions): TrustVerdict | undefined {
    const quick = trustedFromMemory(this.services, caller, options);
    if (quick) this.emit('trusted', null);
    return quick;
  }

  /**
   * The trust rules alone (a trusted client, a bypass token): how the caller may skip the
   * check, or false. Needs no user record, so the hook asks this first: a trusted call costs
   * one token lookup and an HMAC.
   */
  async trusts(caller: Caller, options: TwoFactorOptions): Promise<TrustVerdict> {
    const verdict = await isTrusted(this.services, caller, options);
    if (verdict) this.emit('trusted', null);
    return verdict;
  }

  /**
   * Pass, or throw `totp-required` / `totp-invalid` / `totp-max-attempts`. Resolves with how
   * the call passed, or null when the user has no factor and the method needs none.
   */
  async check(request: GuardRequest): Promise<TwoFactorPass | null> {
    const { user, caller, options } = request;
    const isLogin = request.isLogin === true;
    const code = request.code === '' ? undefined : request.code;
    // A code the client sends is checked, trusted or not: a nested call that asks for more
    // than trust gets its answer through the outer call.
    if (!isLogin && code === undefined && request.trustChecked !== true) {
      const trusted = await this.trusts(caller, options);
      if (trusted) return trusted;
    }
    const { state, available } = await TwoFactorGuard.factorsOf(this.services, user);
    const ctx: CheckContext = {
      user, caller,
      available,
      ...(request.emailOrUsername === undefined ? {} : { emailOrUsername: request.emailOrUsername }),
    };
    // The password fallback: for a user without a factor, unless the method (or login) forbids it.
    const fallbackAllowed = !isLogin && user.passwordHash !== null && !options.disablePasswordFallback;
    // The client's choice counts only if the user has that factor: nothing is sent or verified otherwise.
    const named = request.method !== undefined && request.method !== '' ? request.method : undefined;
    const namedIsValid = named !== undefined && isTwoFactorMethod(named)
      && (ctx.available.includes(named) || (named === 'password' && ctx.available.length === 0 && fallbackAllowed));
    let selected: TwoFactorMethod | undefined = namedIsValid ? (named as TwoFactorMethod) : ctx.available[0];
    if (selected === undefined) {
      if (fallbackAllowed) selected = 'password';
      // A user with nothing to prove (no factor, no password) cannot pass a method that
      // requires a second factor — unless the method forbids the fallback because it checks a
      // secret itself (`changePassword` takes the old password).
      else if (options.requireSecondFactor && !options.disablePasswordFallback && !isLogin) throw this.error('totpRequired', 'password', { codeGenerated: false }, ctx);
      else return null;
    }
    if (code !== undefined && named !== undefined && !namedIsValid) {
      this.emit('invalid', selected);
      throw this.error('totpInvalid', selected, { codeGenerated: false }, ctx);
    }
    if (selected === 'password') {
      await this.checkPassword(ctx, code);
    } else {
      const factor = this.factors[selected];
      const counter: AttemptCounter = selected === 'totp' && code !== undefined && isBackupCodeShaped(code, this.services.options.backupCodeLength) ? 'backup' : selected;
      if (code === undefined) {
        await this.refuseIfLocked(ctx, selected, selected);
        const data = await factor.challenge(user, state);
        this.emit('required', selected);
        throw this.error('totpRequired', selected, data, ctx);
      }
      // A refused email code reports the active code; a refused passkey answer comes with a
      // fresh challenge (the one answered is spent).
      const invalidData = selected === 'email' || selected === 'passkey' ? () => factor.challenge(user, state) : undefined;
      await this.verifyLimited(ctx, selected, counter, () => factor.verify(user, state, code), invalidData);
    }
    if (!options.disableRememberMe && !isLogin) await rememberClient(this.services, caller);
    return 'code';
  }

  /** The password fallback: the account's password budget, answered in the guard's shapes. */
  private async checkPassword(ctx: CheckContext, code: string | undefined): Promise<void> {
    if (code === undefined) {
      this.emit('required', 'password');
      throw this.error('totpRequired', 'password', { codeGenerated: false }, ctx);
    }
    const digest = code.trim().toLowerCase();
    let ok: boolean;
    try {
      ok = /^[0-9a-f]{64}$/.test(digest) && (await this.passwords.verify(ctx.user, digest, ctx.caller));
    } catch (err) {
      if (!(err instanceof PasswordBlockedError)) throw err;
      this.emit('locked', 'password');
      throw this.error('totpMaxAttempts', 'password', { codeGenerated: false }, ctx, err.lockedForMs);
    }
    if (!ok) {
      await audit(this.services, '2fa.failed', ctx.user.id, ctx.caller, { factor: 'password' });
      this.emit('invalid', 'password');
      throw this.error('totpInvalid', 'password', { codeGenerated: false }, ctx);
    }
    this.emit('ok', 'password');
  }

  /**
   * Verify a code under its counter's attempt limit: refused while locked, a failure counted
   * (see {@link recordFailure}). A success forgives nothing: only time does, so the owner
   * signing in daily does not reset what an attacker has spent. Verifications of one user's
   * counter run one at a time, so parallel guesses are counted before the next one is tried.
   */
  async verifyLimited(ctx: CheckContext, factor: TwoFactorMethod, counter: AttemptCounter, verify: () => Promise<VerifyOutcome>, invalidData?: () => Promise<ChallengeData>): Promise<void> {
    return this.serial.run(`${ctx.user.id}\u0000${counter}`, async () => {
      await this.refuseIfLocked(ctx, factor, counter);
      const outcome = await verify();
      if (outcome === 'ok') {
        this.emit('ok', factor);
        return;
      }
      if (outcome === 'replay') {
        this.emit('replay', factor);
        await audit(this.services, '2fa.replay-rejected', ctx.user.id, ctx.caller, { factor });
        // Say so, and when the next code comes: the user typed what the app shows.
        return this.recordFailure(ctx, factor, counter, () => replayData(this.services, ctx.user));
      }
      if (outcome === 'cloned') {
        this.emit('replay', factor);
        await audit(this.services, 'passkey.counter-regressed', ctx.user.id, ctx.caller, { factor });
      }
      // The owner's security log shows each wrong code ("was that me?"): which factor, from where.
      await audit(this.services, '2fa.failed', ctx.user.id, ctx.caller, { factor: counter });
      return this.recordFailure(ctx, factor, counter, invalidData);
    });
  }

  /**
   * Refuse with `totp-max-attempts` (and `lockedFor`) while `counter` is locked for this user.
   * Called before anything is sent or verified, so even the right code is refused.
   */
  async refuseIfLocked(ctx: CheckContext, factor: TwoFactorMethod, counter: AttemptCounter): Promise<void> {
    const now = this.services.clock.now();
    const attempts = await this.services.store.attempts.get(ctx.user.id, counter, new Date(now));
    if (attempts.lockedUntil !== null && attempts.lockedUntil.getTime() > now) {
      this.emit('locked', factor);
      throw this.error('totpMaxAttempts', factor, { codeGenerated: false }, ctx, attempts.lockedUntil.getTime() - now);
    }
  }

  /**
   * Count a failed attempt (atomically, in the store) and throw: `totp-max-attempts` when this
   * failure started a lock-out (audited, and the owner is told by mail), `totp-invalid`
   * otherwise. `invalidData` gives the details of `totp-invalid` (the email factor reports its
   * active code).
   */
  private async recordFailure(ctx: CheckContext, factor: TwoFactorMethod, counter: AttemptCounter, invalidData?: () => Promise<ChallengeData>): Promise<never> {
    const now = this.services.clock.now();
    const after = await this.services.store.attempts.recordFailure(ctx.user.id, counter, new Date(now), factorPolicy(this.services.options));
    if (after.lockedUntil !== null && after.lockedUntil.getTime() > now) {
      this.emit('locked', factor);
      await audit(this.services, '2fa.locked-out', ctx.user.id, ctx.caller, { factor: counter, lockedUntil: after.lockedUntil.toISOString(), lockCount: after.lockCount });
      noticeLockout(this.services, ctx.user, counter, after.lockedUntil, ctx.caller);
      throw this.error('totpMaxAttempts', factor, { codeGenerated: false }, ctx, after.lockedUntil.getTime() - now);
    }
    this.emit('invalid', factor);
    const data = invalidData ? await invalidData() : { codeGenerated: false };
    throw this.error('totpInvalid', factor, data, ctx);
  }

  private error(kind: 'totpRequired' | 'totpInvalid' | 'totpMaxAttempts', method: TwoFactorMethod, data: ChallengeData, ctx: Pick<CheckContext, 'user' | 'available' | 'emailOrUsername'>, lockedFor?: number): DdpError {
    // Rocket.Chat's key order: method, the factor's data, then availableMethods.
    const details: TwoFactorErrorDetails = { method, codeGenerated: data.codeGenerated } as TwoFactorErrorDetails;
    if (data.codeExpires !== undefined) details.codeExpires = data.codeExpires;
    // Login echoes what the user typed. For the email factor Rocket.Chat always names the account
    // (username, else the first verified address): its clients pass it to `2fa:sendEmailCode`.
    const emailOrUsername = ctx.emailOrUsername ?? (method === 'email' ? ctx.user.username || verifiedAddresses(ctx.user)[0] : undefined);
    if (emailOrUsername !== undefined) details.emailOrUsername = emailOrUsername;
    details.availableMethods = ctx.available;
    if (lockedFor !== undefined) details.lockedFor = lockedFor;
    if (data.reason !== undefined) details.reason = data.reason;
    if (data.nextCodeIn !== undefined) details.nextCodeIn = data.nextCodeIn;
    if (data.passkeyOptions !== undefined) details.passkeyOptions = data.passkeyOptions;
    return catalogueError(kind, undefined, details);
  }
}
