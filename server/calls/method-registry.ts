/**
 * The method registry: `server.methods({...})` with plain functions or `{handler, ...options}`.
 */
import type { ConnectionInfo } from './connection-info.js';
import type { Pattern } from './match.js';
import type { RateLimitSpec } from './rate-limit.js';

/** Per-method 2FA options (SPEC §3). */
export interface TwoFactorOptions {
  /** Ask for a code even when the client is trusted. */
  disableRememberMe?: boolean;
  /** Always ask; ignore a personal token's bypass; fall back to the password when the user has no factor. */
  requireSecondFactor?: boolean;
  /** Never fall back to the password (wins over `requireSecondFactor`'s fallback). */
  disablePasswordFallback?: boolean;
}

/**
 * How a call passed the guard: a code checked in this call (or the call that made it), a
 * trusted client, or a personal token's bypass. A nested call inherits a pass only when it
 * covers the nested method's options (`passCovers` in `two-factor/hook.ts`).
 */
export type TwoFactorPass = 'code' | 'trust' | 'bypass';

/** `this` inside a method handler. */
export interface MethodThis {
  readonly name: string;
  readonly userId: string | null;
  /** `null` for calls made by the server itself. */
  readonly connection: ConnectionInfo | null;
  readonly isSimulation: false;
  readonly randomSeed: string | undefined;
  /**
   * True once the 2FA guard passed this call. Nested calls made with `this.call` inherit the
   * pass when it was at least as strict as theirs needs (a trusted client does not cover a
   * `disableRememberMe` method; only a code covers `requireSecondFactor`).
   */
  readonly twoFactorChecked: boolean;
  /** Let the connection's next message start before this method finishes. */
  unblock(): void;
  /** Change the connection's user; its subscriptions rerun for the new user. */
  setUserId(userId: string | null): Promise<void>;
  /** Call another method in-process, with this call's user and 2FA state. */
  call(name: string, ...params: unknown[]): Promise<unknown>;
}

// Handlers take whatever parameters they declare; validation is the `params` option's job.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MethodHandler = (this: MethodThis, ...params: any[]) => unknown;

export interface MethodOptions {
  /** Put the 2FA guard in front of this method. */
  twoFactor?: boolean | TwoFactorOptions;
  /** Refuse callers that are not logged in (401). */
  requireUser?: boolean;
  /** Patterns the parameters must match, one per parameter; a mismatch is 400 `Match failed`. */
  params?: readonly Pattern[];
  /** A rate-limit rule for this method alone. */
  rateLimit?: RateLimitSpec;
  /**
   * The result carries a credential (a login token, a TOTP secret, backup codes): it is never
   * kept to answer a re-sent call, so a call sent again after a reconnect runs again.
   */
  secretResult?: boolean;
}

export interface MethodSpec extends MethodOptions {
  handler: MethodHandler;
}

export type MethodDefinitions = Record<string, MethodHandler | MethodSpec>;

/** A registered method. */
export interface MethodDefinition {
  readonly name: string;
  readonly handler: MethodHandler;
  readonly options: Readonly<MethodOptions>;
  /** The 2FA options, normalised (`null`: not guarded). */
  readonly twoFactor: Readonly<TwoFactorOptions> | null;
}

export class MethodRegistry {
  private readonly methods = new Map<string, MethodDefinition>();

  /** Register methods; a name registered twice throws. */
  add(definitions: MethodDefinitions): void {
    for (const [name, spec] of Object.entries(definitions)) {
      if (name === '') throw new TypeError('A method name must not be empty');
      if (this.methods.has(name)) throw new Error(`A method named '${name}' is already defined`);
      const { handler, ...options } = typeof spec === 'function' ? { handler: spec } : spec;
      if (typeof handler !== 'function') throw new TypeError(`Method '${name}' needs a handler function`);
      const twoFactor = options.twoFactor === true ? {} : options.twoFactor ? { ...options.twoFactor } : null;
      this.methods.set(name, Object.freeze({ name, handler, options: Object.freeze({ ...options }), twoFactor }));
    }
  }

  get(name: string): MethodDefinition | undefined {
    return this.methods.get(name);
  }

  names(): string[] {
    return [...this.methods.keys()];
  }
}
