/** Refuses calls to methods registered with `requireUser` when nobody is logged in. */
import { catalogueError } from '../../protocol/errors.js';
import { HOOK_ORDER, type CallContext, type Hook } from '../calls/pipeline.js';

export function requireUserHook(): Hook {
  return {
    name: 'require-user',
    order: HOOK_ORDER.requireUser,
    run(call: CallContext): void {
      const required = call.kind === 'method' ? call.definition.options.requireUser || call.definition.twoFactor !== null : call.definition.options.requireUser;
      if (required && call.caller.userId === null) throw catalogueError('notLoggedIn');
    },
  };
}
