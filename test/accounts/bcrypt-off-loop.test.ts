import { expect } from 'chai';
import bcrypt from 'bcryptjs';
import { performance } from 'node:perf_hooks';
import { stopServers } from '../helpers/server.js';
import { ClientPool } from '../helpers/ddp.js';
import { addUser, meteorPassword, startAccountsServer } from './support.js';

const LOGINS = 20;

describe('accounts: bcrypt runs off the event loop', function () {
  const pool = new ClientPool();
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
  });

  it(`keeps answering plain calls on another connection while ${LOGINS} logins hash at cost 10`, async function () {
    // 20 serial bcrypt runs take about a second and a half on an idle machine, far more on a busy one.
    this.timeout(60_000);
    // One worker: the 20 comparisons queue behind each other whatever the number of cores,
    // so the logins last long enough to measure the echoes meanwhile.
    const { services, url } = await startAccountsServer({ bcryptCost: 10, passwordWorkers: 1, passwordQueueMs: 60_000 }, (server) => {
      server.methods({ echo: (...params: unknown[]) => params });
    });
    const user = await addUser(services, { username: 'alice', password: 'pw-alice' });
    expect(user.passwordHash).to.match(/^\$2[aby]\$10\$/);

    // One bcrypt comparison at cost 10 on this machine, right now (median of 3).
    const digest = meteorPassword('pw-alice').digest;
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      expect(bcrypt.compareSync(digest, user.passwordHash!)).to.equal(true);
      samples.push(performance.now() - start);
    }
    const bcryptMs = samples.sort((a, b) => a - b)[1]!;

    const echo = await pool.connect(url);
    const logins = await Promise.all(Array.from({ length: LOGINS }, () => pool.connect(url)));
    expect((await echo.call('echo', 'warm-up')).result).to.deep.equal(['warm-up']);

    let done = false;
    const started = performance.now();
    const all = Promise.all(logins.map((c) => c.call('login', { user: 'alice', password: meteorPassword('pw-alice') }))).finally(() => {
      done = true;
    });
    const latencies: number[] = [];
    while (!done) {
      const start = performance.now();
      const out = await echo.call('echo', latencies.length);
      latencies.push(performance.now() - start);
      expect(out.result).to.deep.equal([latencies.length - 1]);
      // A client pace, not a busy loop: the echoes must not starve the (low-priority) worker.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await all;
    const loginsMs = performance.now() - started;
    for (const out of results) expect(out.result?.type, JSON.stringify(out.error)).to.equal('password');

    const maxEcho = latencies.reduce((a, b) => Math.max(a, b), 0);
    // The 90th percentile, not the maximum: on a busy 2-core machine the scheduler can stall
    // this process once for longer than a comparison; bcrypt on the loop would delay most echoes.
    const p90Echo = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.9)]!;
    const report = `bcrypt ${bcryptMs.toFixed(1)} ms, ${LOGINS} logins in ${loginsMs.toFixed(0)} ms, ${latencies.length} echoes meanwhile, p90 ${p90Echo.toFixed(1)} ms, slowest ${maxEcho.toFixed(1)} ms`;
    // The logins really did run for a while, and echoes kept being answered throughout.
    expect(loginsMs, report).to.be.above(2 * bcryptMs);
    expect(latencies.length, report).to.be.at.least(10);
    // On the event loop, one echo would wait behind most of the 20 comparisons.
    expect(p90Echo, report).to.be.below(5 * bcryptMs);
  });
});
