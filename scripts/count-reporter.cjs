'use strict';
/**
 * Mocha's spec reporter plus one machine-readable line, always the last one mocha prints:
 * `N passed, M failed` (and `, K skipped` when some tests were pending). `.ci/run` repeats it
 * after npm's own output so that it stays the last line of a CI log.
 *
 * Wired in `.mocharc.json` (`"reporter": "./scripts/count-reporter.cjs"`); CommonJS because
 * mocha loads reporters with `require`.
 */
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

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
    // Registered after Spec's own 'end' listener, so the line follows mocha's epilogue.
    runner.once(EVENT_RUN_END, () => {
      process.stdout.write(`${countLine(this.stats)}\n`);
    });
  }
}

CountReporter.countLine = countLine;
CountReporter.description = 'spec, then a last line "N passed, M failed[, K skipped]"';

module.exports = CountReporter;
