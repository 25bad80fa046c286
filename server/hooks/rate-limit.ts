/** The rate-limit hook: counts each call against the limiter's rules. */
import { catalogueError } from '../../protocol/errors.js';
import { HOOK_ORDER, type CallContext, type Hook } from '../calls/pipeline.js';
import type { RateLimiter, RateLimitVerdict } from '../calls/rate-limit.js';
import type { Clock } from '../runtime/clock.js';

export function rateLimitHook(limiter: RateLimiter, clock: Clock): Hook {
  const refuse = (verdict: RateLimitVerdict): void => {
    if (verdict.allowed) return;
    throw catalogueError('tooManyRequests', Math.ceil(verdict.timeToReset / 1000), { timeToReset: verdict.timeToReset });
  };
  return {
    name: 'rate-limit',
    order: HOOK_ORDER.rateLimit,
    run(call: CallContext): void | Promise<void> {
      if (call.caller.transport === 'internal' || !limiter.mayApply(call.kind, call.name)) return;
      const connection = call.caller.connection;
      const verdict = limiter.check({
        type: call.kind,
        name: call.name,
        userId: call.caller.userId,
        connectionId: connection?.id ?? null,
        clientAddress: connection?.clientAddress ?? null,
      }, clock.now());
      if (verdict instanceof Promise) return verdict.then(refuse);
      refuse(verdict);
    },
  };
}
