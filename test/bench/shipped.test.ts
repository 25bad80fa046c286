/**
 * The shipped row of `npm run bench`, end to end and tiny: `ddp-guard serve` with its defaults,
 * the raw `ws` baseline and the engine measured in turns, every figure in the JSON. No timing is
 * asserted (that is the bench's job), only that the harness measured what it says.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runJson, type Row } from './run-json.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench: the shipped row, measured in turns', function () {
  this.timeout(180_000);

  it('runs 4 counted rounds for the baseline, the engine, plain and guarded calls, and reports sums, per-round medians and idle memory', async () => {
    const r = await runJson(RUN, ['--only', 'shipped', '--duration', '1', '--idle', '200']);
    expect(r.code, r.stderr).to.equal(0);
    const find = (start: string): Row => {
      const row = r.json.rows.find((x) => x.scenario === 'shipped' && x.metric.startsWith(start));
      expect(row, `a row starting '${start}' in ${JSON.stringify(r.json.rows.map((x) => x.metric))}`).to.not.equal(undefined);
      return row!;
    };
    const plain = find('plain calls per server CPU-s (4 rounds summed)');
    const guarded = find('guarded calls, trusted session, per server CPU-s');
    for (const row of [plain, guarded]) {
      expect(row.baseline).to.be.above(0);
      expect(row.ddp).to.be.above(0);
      expect(row.ratio).to.be.closeTo(row.ddp / row.baseline!, 1e-9);
      expect(row.target).to.equal('≥ 1.00');
      expect(row.ok).to.equal(row.ratio! >= 1);
    }
    // Both ratios are taken against the same baseline: the same rounds.
    expect(guarded.baseline).to.equal(plain.baseline);
    for (const name of ['plain', 'guarded']) {
      const median = find(`${name}: ratio per round, median (lowest `);
      const m = /lowest ([\d.]+), highest ([\d.]+)/.exec(median.metric)!;
      expect(Number(m[1])).to.be.at.most(median.ddp + 0.005);
      expect(Number(m[2])).to.be.at.least(median.ddp - 0.005);
    }
    expect(find('plain calls per server CPU-s vs the engine').baseline).to.be.above(0);
    // serve's default logging writes nothing per call.
    expect(find('log bytes written during').ddp).to.be.a('number');
    expect(find('idle RSS bytes per connection after the handshake').ddp).to.be.above(0);
  });
});
