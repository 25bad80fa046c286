/**
 * The bench's command line answers before it starts anything: `--help` prints the usage and
 * exits 0, a mistyped flag exits 2 with the usage (it used to start the whole bench).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench: command line', () => {
  it('node dist/bench/run.js --help prints the usage and the scenarios, and exits 0 at once', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [RUN, '--help'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^Usage: node dist\/bench\/run\.js \[options\]/);
    expect(r.stdout).to.contain('small, 1kb, guarded, latency, logins, idle, shipped');
    expect(r.stdout).to.contain('--only <a,b,...>');
    expect(Date.now() - started).to.be.below(5000);
  });

  it('an unknown option or scenario exits 2 with the usage', () => {
    const bogus = spawnSync(process.execPath, [RUN, '--bogus'], { encoding: 'utf8', timeout: 10_000 });
    expect(bogus.status).to.equal(2);
    expect(bogus.stderr).to.contain("bench: unknown option '--bogus'");
    const scenario = spawnSync(process.execPath, [RUN, '--only', 'smal'], { encoding: 'utf8', timeout: 10_000 });
    expect(scenario.status).to.equal(2);
    expect(scenario.stderr).to.contain('unknown: smal');
  });
});
