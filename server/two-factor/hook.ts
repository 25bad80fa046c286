/**
 * The guard as one pipeline hook. For a method registered with `twoFactor`, it removes the
 * trailing `{twoFactorCode, twoFactorMethod}` (exactly that shape; a falsy last parameter or an
 * application object is never touched), applies the trust rules, verifies, and marks the call
 * as checked so nested in-process calls do not ask again.
 */
import { isTwoFactorArgument, type TwoFactorArgument } from '../../protocol/two-factor.js';
import { catalogueError } from '../../protocol/errors.js';
import { HOOK_ORDER, type CallContext, type Hook } from '../pipeline.js';
import type { ServiceContainer } from '../services.js';
import type { TwoFactorGuard } from './guard.js';

/** Remove and return the trailing 2FA argument, if the last parameter is exactly one. */
export function takeTwoFactorArgument(params: unknown[]): TwoFactorArgument | undefined {
  if (params.length === 0) return undefined;
  const last = params[params.length - 1];
  if (!isTwoFactorArgument(last)) return undefined;
  params.pop();
  return last;
}

export function twoFactorHook(services: ServiceContainer, guard: () => Promise<TwoFactorGuard>, readyGuard: () => TwoFactorGuard | null): Hook {
  return {
    name: 'two-factor',
    order: HOOK_ORDER.twoFactor,
    run(call: CallContext): void | Promise<void> {
      if (call.kind !== 'method' || call.definition.twoFactor === null) return;
      const answer = takeTwoFactorArgument(call.params) ?? call.caller.transportTwoFactor;
      if (call.twoFactorChecked) return;
      const options = call.definition.twoFactor;
      // A trusted session (already verified, not expired) passes without a promise or a lookup.
      if (readyGuard()?.trustsFromMemory(call.caller, options) === true) {
        call.twoFactorChecked = true;
        return;
      }
      return (async () => {
        const twoFactor = await guard();
        if (await twoFactor.trusts(call.caller, options)) {
          call.twoFactorChecked = true;
          return;
        }
        const { store } = await services.get();
        const userId = call.caller.userId;
        const user = userId === null ? null : await store.users.findById(userId);
        if (!user) throw catalogueError('notLoggedIn');
        await twoFactor.check({
          user,
          caller: call.caller,
          options,
          trustChecked: true,
          ...(answer ? { code: answer.twoFactorCode, method: answer.twoFactorMethod } : {}),
        });
        call.twoFactorChecked = true;
      })();
    },
  };
}
