/** Checks parameters against the patterns a method or publication was registered with. */
import { checkParams } from '../calls/match.js';
import { HOOK_ORDER, type CallContext, type Hook } from '../calls/pipeline.js';

export function paramsHook(): Hook {
  return {
    name: 'params',
    order: HOOK_ORDER.params,
    run(call: CallContext): void {
      const patterns = call.definition.options.params;
      if (patterns) checkParams(call.params, patterns);
    },
  };
}
