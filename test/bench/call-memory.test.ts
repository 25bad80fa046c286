/**
 * The call-memory bench runs end to end, tiny, on SQLite and on the local PostgreSQL: both
 * settings are measured in each round and every figure lands in the JSON. No timing is
 * asserted; the harness is. A bad option is one clear line and a non-zero exit.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const SCRIPT = fileURLToPath(new URL('../../bench/call-memory.js', import.meta.url));
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

interface Report {
  calls: number;
  rounds: number;
  runs: { windowMs: number; cpuUsPerCall: number; wallUsPerCall: number }[];
  summary: Record<'offCpuUs' | 'onCpuUs' | 'offWallUs' | 'onWallUs', number>;
}

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench: call memory (what remembering call outcomes costs)', function () {
  this.timeout(180_000);

  for (const [name, extra] of [['SQLite', []], ['PostgreSQL', ['--db', PG_URL]]] as const) {
    it(`measures calls with the memory off and on, alternating (${name})`, function () {
      const r = bench(['--calls', '40', '--rounds', '2', '--json', ...extra]);
      if (name === 'PostgreSQL' && r.status !== 0 && /ECONNREFUSED/.test(r.stderr)) this.skip();
      expect(r.status, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.runs.map((x) => x.windowMs)).to.deep.equal([0, 300_000, 0, 300_000]);
      for (const run of report.runs) {
        expect(run.cpuUsPerCall).to.be.greaterThan(0);
        expect(run.wallUsPerCall).to.be.greaterThan(0);
      }
      for (const value of Object.values(report.summary)) expect(value).to.be.a('number').and.greaterThan(0);
    });
  }

  it('refuses a --db that is not PostgreSQL, and an option it does not know, in one line each', () => {
    const db = bench(['--db', 'mysql://x']);
    expect(db.status).to.equal(1);
    expect(db.stderr).to.match(/--db takes a PostgreSQL URL/);
    const unknown = bench(['--fast']);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr).to.match(/unknown option '--fast'/);
    const calls = bench(['--calls', 'many']);
    expect(calls.stderr).to.match(/--calls must be a whole number/);
  });
});
