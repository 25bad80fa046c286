/**
 * Skipping with a reason the reporter prints: `scripts/count-reporter.cjs` shows
 * `skipped: <reason>` under each skipped test (for a `before` hook, under every test of the
 * suite), so a skip is never silent in a CI log.
 */

/** Where the reporter looks for the reason (on the test, else on its suites). */
export const SKIP_REASON = 'skipReason';

/**
 * Skips the current test (in `it`) or the enclosing suite (in `before`/`beforeEach`), recording
 * `reason` for the reporter. Never returns.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  // In a hook, `ctx.test` is the hook; its parent is the suite being skipped.
  const runnable = ctx.currentTest ?? ctx.test;
  const isHook = (runnable as { type?: string } | undefined)?.type === 'hook';
  const target: object | undefined = isHook ? runnable?.parent : runnable;
  if (target) Object.assign(target, { [SKIP_REASON]: reason });
  ctx.skip();
}
