/**
 * The fleet and capacity benches run end to end, tiny: several raw `ws` and `ddp-guard serve`
 * processes (on the local PostgreSQL and Redis) hold every connection the load-generator
 * processes opened, and every figure lands in the JSON. No timing is asserted: the harness is.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runJson, type Row } from './run-json.js';

const FLEET = fileURLToPath(new URL('../../bench/fleet.js', import.meta.url));
const CAPACITY = fileURLToPath(new URL('../../bench/capacity.js', import.meta.url));
const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

describe('bench: fleet and capacity harness', function () {
  this.timeout(240_000);

  it('npm run bench -- --idle beyond the descriptor limit exits 2 at once and names bench:fleet (it died with EMFILE after minutes)', function () {
    const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
    if (!(limit < 100_000)) this.skip();
    const r = spawnSync(process.execPath, [RUN, '--idle', '100000'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain(`needs more descriptors than this process has (${limit})`);
    expect(r.stderr).to.contain('npm run bench:fleet -- --idle 100000');
  });

  it('fleet: 3 serve processes and 3 raw ws servers hold 150 connections from 3 load generators (at nice 19 when asked, for both) for 2 s', async () => {
    const r = await runJson(FLEET, ['--idle', '150', '--processes', '3', '--per-generator', '50', '--hold', '2', '--probe-rate', '50', '--generator-nice', '19']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('from 3 load generators');
    expect(r.stderr).to.match(/\(127\.\d+\.2\.2, 127\.\d+\.2\.3, 127\.\d+\.2\.4\)/);
    const held = r.json.rows.find((row) => row.metric.startsWith('connections held 2 s by 3 serve processes'));
    expect(held?.ddp).to.equal(150);
    expect(held?.ok).to.equal(true);
    expect(r.json.rows.find((row) => row.metric.startsWith('raw ws: connections held'))?.ddp).to.equal(150);
    const memory = r.json.rows.find((row) => row.metric.startsWith('RSS bytes per connection, 150 held'));
    expect(memory?.baseline).to.be.a('number').and.not.NaN;
    expect(memory?.ddp).to.be.a('number').and.not.NaN;
    const p99 = r.json.rows.find((row) => row.metric.startsWith('plain call p99 ms'));
    expect(p99?.baseline).to.be.above(0);
    expect(p99?.ddp).to.be.above(0);
    expect((r.json.ddp as { failed: number }).failed).to.equal(0);
    expect((r.json.ddp as { generatorNice: number[] }).generatorNice).to.deep.equal([19, 19, 19]);
    expect((r.json.baseline as { generatorNice: number[] }).generatorNice).to.deep.equal([19, 19, 19]);
  });

  it('capacity: one and two serve processes on PostgreSQL + Redis answer guarded calls, and every stream event reaches both processes\' subscribers', async () => {
    const r = await runJson(CAPACITY, ['--duration', '1', '--subscribers', '5']);
    expect(r.code, r.stderr).to.equal(0);
    const metric = (prefix: string): Row | undefined => r.json.rows.find((row) => row.metric.startsWith(prefix));
    expect(metric('logged-in guarded calls per server CPU-s')?.ddp).to.be.above(0);
    expect(metric('logins per server CPU-s')?.ddp).to.be.above(0);
    const two = metric('guarded calls/s: 2 processes');
    expect(two?.baseline).to.be.above(0);
    expect(two?.ddp).to.be.above(0);
    expect(metric('PostgreSQL CPU µs per guarded call')?.ddp).to.be.a('number').and.not.NaN;
    const delivered = metric('stream events delivered');
    expect(delivered?.ok, JSON.stringify(delivered)).to.equal(true);
  });
});
