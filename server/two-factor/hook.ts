/**
 * The guard as one pipeline hook. For a method registered with `twoFactor`, it removes the
 * trailing `{twoFactorCode, twoFactorMethod}` (exactly that shape; a falsy last parameter or an
 * application object is never touched), applies the trust rules, verifies, and records how the
 * call passed, so nested in-process calls do not ask again — when that pass covers them.
 */
import { isTwoFactorArgument, type TwoFactorArgument } from '../../protocol/two-factor.js';
import { catalogueError } from '../../protocol/errors.js';
import { HOOK_ORDER, type CallContext, type Hook } from '../calls/pipeline.js';
import type { TwoFactorOptions, TwoFactorPass } from '../calls/method-registry.js';
import type { ServiceContainer } from '../services/services.js';
import type { TwoFactorGuard } from './guard.js';

/** Remove and return the trailing 2FA argument, if the last parameter is exactly one. */
export function takeTwoFactorArgument(params: unknown[]): TwoFactorArgument | undefined {
  if (params.length === 0) return undefined;
  const last = params[params.length - 1];
  if (!isTwoFactorArgument(last)) return undefined;
  params.pop();
  return last;
}

/**
 * Whether a call that passed as `pass` also passes a nested call to a method with `options`:
 * a code checked covers anything; a bypass token covers all but `requireSecondFactor`, as it
 * would on its own; a trusted client covers neither that nor `disableRememberMe`.
 */
export function passCovers(pass: TwoFactorPass, options: TwoFactorOptions): boolean {
  if (pass === 'code') return true;
  if (options.requireSecondFactor) return false;
  return pass === 'bypass' || !options.disableRememberMe;
}

export function twoFactorHook(services: ServiceContainer, guard: () => Promise<TwoFactorGuard>, readyGuard: () => TwoFactorGuard | null): Hook {
  return {
    name: 'two-factor',
    order: HOOK_ORDER.twoFactor,
    run(call: CallContext): void | Promise<void> {
      if (call.kind !== 'method' || call.definition.twoFactor === null) return;
      const answer = takeTwoFactorArgument(call.params) ?? call.caller.transportTwoFactor;
      const options = call.definition.twoFactor;
      if (call.twoFactorPass !== null && passCovers(call.twoFactorPass, options)) return;
      // A trusted session (already verified, not expired) passes without a promise or a
      // lookup. A code the client sends is checked instead, trusted or not.
      if (answer === undefined) {
        const quick = readyGuard()?.trustsFromMemory(call.caller, options);
        if (quick) {
          call.twoFactorPass = quick;
          return;
        }
      }
      return (async () => {
        const twoFactor = await guard();
        if (answer === undefined) {
          const trusted = await twoFactor.trusts(call.caller, options);
          if (trusted) {
            call.twoFactorPass = trusted;
            return;
          }
        }
        const { store } = await services.get();
        const userId = call.caller.userId;
        const user = userId === null ? null : await store.users.findById(userId);
        if (!user) throw catalogueError('notLoggedIn');
        const pass = await twoFactor.check({
          user,
          caller: call.caller,
          options,
          trustChecked: true,
          ...(answer ? { code: answer.twoFactorCode, method: answer.twoFactorMethod } : {}),
        });
        if (pass !== null) call.twoFactorPass = pass;
      })();
    },
  };
}
