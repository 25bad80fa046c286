/**
 * `npm run bench:load` runs end to end, tiny: `ddp-guard load` and the bench's own generator
 * alternate in slices (A B, then B A), each slice a process of its own against the same floor
 * server, and the JSON holds every slice and a summary computed from them. No timing is
 * asserted; the harness is. A bad option is one clear line and a non-zero exit.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const SCRIPT = fileURLToPath(new URL('../../bench/load-tool.js', import.meta.url));

interface Slice { pair: number; generator: string; startedAt: string; loadAverage: number; calls: number; cpuSeconds: number; wallSeconds: number; callsPerCpuSecond: number; connectionsOpened: number; floorCpuSeconds: number | null }
interface Totals { calls: number; cpuSeconds: number; callsPerCpuSecond: number }
interface Report { pairs: number; connections: number; slices: Slice[]; ddpGuardLoad: Totals; benchGenerator: Totals; ratio: number; pairRatios: number[]; median: number; min: number; max: number; met: boolean }

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench: load (ddp-guard load against the bench generator, in alternating slices)', function () {
  this.timeout(180_000);

  it('runs both generators in turns, each slice a process of its own, and sums them', () => {
    const r = bench(['--pairs', '3', '--seconds', '0.5', '--connections', '3', '--vus', '0', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as Report;
    // A B, B A, A B: neither generator always runs first.
    expect(report.slices.map((s) => `${s.pair}:${s.generator}`)).to.deep.equal([
      '1:ddp-guard load', '1:bench generator', '2:bench generator', '2:ddp-guard load', '3:ddp-guard load', '3:bench generator',
    ]);
    for (const s of report.slices) {
      expect(s.calls, s.generator).to.be.greaterThan(0);
      expect(s.cpuSeconds, s.generator).to.be.greaterThan(0);
      expect(s.callsPerCpuSecond).to.be.closeTo(s.calls / s.cpuSeconds, 1e-6);
      expect(Number.isNaN(Date.parse(s.startedAt))).to.equal(false);
      // The floor's CPU during each slice, from /proc (10-ms ticks: it may read 0 for a short slice).
      expect(s.floorCpuSeconds).to.be.a('number').and.at.least(0);
    }
    // The bench generator keeps its connections; every iteration of the transcript opens one.
    for (const s of report.slices.filter((x) => x.generator === 'bench generator')) expect(s.connectionsOpened).to.equal(3);
    for (const s of report.slices.filter((x) => x.generator === 'ddp-guard load')) expect(s.connectionsOpened).to.be.at.least(3);
    const sum = (g: string): Totals => {
      const mine = report.slices.filter((s) => s.generator === g);
      const calls = mine.reduce((a, s) => a + s.calls, 0);
      const cpu = mine.reduce((a, s) => a + s.cpuSeconds, 0);
      return { calls, cpuSeconds: cpu, callsPerCpuSecond: calls / cpu };
    };
    expect(report.ddpGuardLoad.calls).to.equal(sum('ddp-guard load').calls);
    expect(report.benchGenerator.calls).to.equal(sum('bench generator').calls);
    expect(report.ratio).to.be.closeTo(sum('ddp-guard load').callsPerCpuSecond / sum('bench generator').callsPerCpuSecond, 1e-9);
    expect(report.met).to.equal(report.ratio >= 1);
    expect(report.pairRatios).to.have.length(3);
    const pair2 = report.slices.filter((s) => s.pair === 2);
    const perCpu = (s: Slice): number => s.calls / s.cpuSeconds;
    expect(report.pairRatios[1]).to.be.closeTo(perCpu(pair2.find((s) => s.generator === 'ddp-guard load')!) / perCpu(pair2.find((s) => s.generator === 'bench generator')!), 1e-9);
    const sorted = [...report.pairRatios].sort((a, b) => a - b);
    expect([report.min, report.median, report.max]).to.deep.equal([sorted[0], sorted[1], sorted[2]]);
  });

  it('with --together runs the two slices of a pair at the same time', () => {
    const r = bench(['--pairs', '1', '--seconds', '1', '--connections', '2', '--vus', '0', '--together', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as Report & { together: boolean };
    expect(report.together).to.equal(true);
    const [a, b] = report.slices;
    expect([a!.generator, b!.generator]).to.deep.equal(['ddp-guard load', 'bench generator']);
    // Started together: the bench generator did not wait for ddp-guard load's slice to end.
    expect(Math.abs(Date.parse(a!.startedAt) - Date.parse(b!.startedAt))).to.be.below(500);
    for (const s of report.slices) {
      expect(s.calls).to.be.greaterThan(0);
      expect(s.floorCpuSeconds, 'shared by both: not attributed').to.equal(null);
    }
  });

  it('prints a table with a row per slice and says whether the target is met', () => {
    const r = bench(['--pairs', '1', '--seconds', '0.5', '--connections', '2', '--vus', '0']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').filter((l) => /^1 \| (ddp-guard load|bench generator) \|/.test(l))).to.have.length(2);
    expect(r.stdout).to.match(/calls per CPU-second: \d+\.\d{3} \(target ≥ 1\.00: (yes|NO)\)/);
  });

  it('refuses an option it does not know and a count that is not one, in one line each', () => {
    const unknown = bench(['--fast']);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr).to.match(/unknown option '--fast'/);
    const pairs = bench(['--pairs', 'many']);
    expect(pairs.status).to.equal(1);
    expect(pairs.stderr).to.match(/--pairs must be a whole number ≥ 1, got 'many'/);
  });
});
