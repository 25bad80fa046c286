'use strict';
/**
 * Mocha's spec reporter plus one machine-readable line, always the last one mocha prints:
 * `N passed, M failed` (and `, K skipped` when some tests were pending). `.ci/run` repeats it
 * after npm's own output so that it stays the last line of a CI log.
 *
 * A skipped test also gets a line `skipped: <reason>` when the test (or its suite, skipped
 * from a `before` hook) recorded one with `skipBecause` (test/helpers/skip.ts).
 *
 * Wired in `.mocharc.json` (`"reporter": "./scripts/count-reporter.cjs"`); CommonJS because
 * mocha loads reporters with `require`.
 */
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

/** The reason recorded on a skipped test or on the nearest suite above it, or null. */
function skipReason(test) {
  for (let r = test; r; r = r.parent) if (typeof r.skipReason === 'string') return r.skipReason;
  return null;
}

/** The count line for mocha's run statistics. */
function countLine(stats) {
  const passes = stats.passes ?? 0;
  const failures = stats.failures ?? 0;
  const pending = stats.pending ?? 0;
  return `${passes} passed, ${failures} failed${pending > 0 ? `, ${pending} skipped` : ''}`;
}

class CountReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    // After Spec's own line for the test ("- title").
    runner.on(EVENT_TEST_PENDING, (test) => {
      const reason = skipReason(test);
      process.stdout.write(`${'  '.repeat(this.indents ?? 2)}  skipped: ${reason ?? 'no reason given'}\n`);
    });
    // Registered after Spec's own 'end' listener, so the line follows mocha's epilogue.
    runner.once(EVENT_RUN_END, () => {
      process.stdout.write(`${countLine(this.stats)}\n`);
    });
  }
}

CountReporter.countLine = countLine;
CountReporter.skipReason = skipReason;
CountReporter.description = 'spec, then a last line "N passed, M failed[, K skipped]"';

module.exports = CountReporter;
