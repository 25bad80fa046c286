/**
 * The pipeline of hooks that runs before every method and subscription: rate limit → require
 * user → two-factor → params. A hook throws a client-safe error to refuse the call. Hooks that
 * finish synchronously cost no promise.
 */
import type { Caller } from './caller.js';
import type { MethodDefinition, TwoFactorPass } from './method-registry.js';
import type { PublicationDefinition } from './publication-registry.js';

/** A method call on its way to the handler. Hooks may rewrite `params` (the 2FA guard strips its argument). */
export interface MethodCall {
  readonly kind: 'method';
  readonly name: string;
  params: unknown[];
  readonly definition: MethodDefinition;
  readonly caller: Caller;
  /** Set by the 2FA guard once the call passed it (how); inherited by nested in-process calls. */
  twoFactorPass: TwoFactorPass | null;
  readonly randomSeed: string | undefined;
}

/** A subscription on its way to the publish function. */
export interface SubscriptionCall {
  readonly kind: 'subscription';
  readonly name: string;
  params: unknown[];
  readonly definition: PublicationDefinition;
  readonly caller: Caller;
}

export type CallContext = MethodCall | SubscriptionCall;

/** Well-known hook positions; lower runs first. */
export const HOOK_ORDER = Object.freeze({ rateLimit: 100, requireUser: 200, twoFactor: 300, params: 400 });

export interface Hook {
  readonly name: string;
  readonly order: number;
  run(call: CallContext): void | Promise<void>;
}

export class Pipeline {
  private hooks: Hook[] = [];

  add(hook: Hook): void {
    if (this.hooks.some((h) => h.name === hook.name)) throw new Error(`A hook named '${hook.name}' is already installed`);
    this.hooks = [...this.hooks, hook].sort((a, b) => a.order - b.order);
  }

  names(): string[] {
    return this.hooks.map((h) => h.name);
  }

  /** Run every hook in order; returns a promise only if some hook is asynchronous. */
  run(call: CallContext): void | Promise<void> {
    return this.runFrom(0, call);
  }

  private runFrom(start: number, call: CallContext): void | Promise<void> {
    const hooks = this.hooks;
    for (let i = start; i < hooks.length; i++) {
      const result = hooks[i]!.run(call);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        return (result as Promise<void>).then(() => this.runFrom(i + 1, call));
      }
    }
    return undefined;
  }
}
