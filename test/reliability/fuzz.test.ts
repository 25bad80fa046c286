/**
 * Issue 7: 100 000 random and mutated frames over several connections. Every frame gets the
 * documented answer or close code (the oracle in `fuzz/oracle.ts`), the process never crashes,
 * nothing is rejected unhandled, no internal error is logged, and a well-behaved client on
 * another connection keeps getting the right answers. `npm run fuzz` runs 10⁶ frames.
 *
 * The seed is printed before the run and in the message of any failure of it;
 * `FUZZ_SEED=<n> npm run test:file -- dist/test/reliability/fuzz.test.js` replays that run.
 */
import { expect } from 'chai';
import { startServer, stopServers, captureLogger } from '../helpers/server.js';
import { runFuzz, type FuzzReport } from './fuzz/driver.js';
import { createNormalUser, installFuzzApp } from './fuzz/app.js';
import { FUZZ_METHOD_NAMES } from './fuzz/oracle.js';

export const FUZZ_SERVER_OPTIONS = Object.freeze({ maxFrameBytes: 64 * 1024, maxSubscriptions: 20 });

/** One-line-per-kind summary of a report. */
export function describeReport(report: FuzzReport): string {
  const kinds = Object.entries(report.answers).sort((a, b) => b[1] - a[1]).map(([k, n]) => `    ${String(n).padStart(8)}  ${k}`);
  return [
    `seed ${report.seed}: ${report.frames} frames in ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round(report.frames / (report.elapsedMs / 1000))} frames/s), ${report.connectionsOpened} connections`,
    `  well-behaved client: ${report.normalCalls} calls, slowest ${report.normalMaxLatencyMs.toFixed(1)} ms`,
    '  answers by kind:',
    ...kinds,
  ].join('\n');
}

describe('reliability: fuzzing the wire (100 000 frames)', function () {
  this.timeout(120_000);
  const rejections: unknown[] = [];
  const trap = (reason: unknown): void => {
    rejections.push(reason);
  };

  before(() => {
    process.on('unhandledRejection', trap);
  });
  after(async () => {
    process.off('unhandledRejection', trap);
    await stopServers();
  });

  it('answers every frame as documented, never crashes, and keeps serving a normal client', async () => {
    const seed = fuzzSeed(process.env.FUZZ_SEED);
    console.log(`      seed ${seed} (FUZZ_SEED=${seed} replays this run)`);
    try {
      await fuzzRun(seed);
    } catch (err) {
      // Whatever failed (a mismatch, the CPU budget, a log line, a leak), the seed goes with it.
      if (err instanceof Error) err.message = `FUZZ_SEED=${seed} replays this run.\n${err.message}`;
      throw err;
    }
  });

  async function fuzzRun(seed: number): Promise<void> {
    const logs = captureLogger();
    const server = await startServer({ ...FUZZ_SERVER_OPTIONS, logger: logs.logger }, installFuzzApp);
    await createNormalUser(server);
    const builtIns = server.registry.names().filter((n) => !FUZZ_METHOD_NAMES.includes(n) && n !== 'fuzz.whoami');
    const cpuBefore = process.cpuUsage();
    const report = await runFuzz({
      url: server.url,
      seed,
      frames: 100_000,
      connections: 6,
      batch: 60,
      builtIns,
      maxFrameBytes: FUZZ_SERVER_OPTIONS.maxFrameBytes,
      maxSubscriptions: FUZZ_SERVER_OPTIONS.maxSubscriptions,
      normalEvery: 1000,
      preHandshake: 4,
      stopOnMismatch: true,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`${describeReport(report)}\n  CPU time (server and clients, one process): ${(cpuMs / 1000).toFixed(1)} s`);
    expect(report.mismatches, `seed ${seed}:\n${report.mismatches.map((m) => `connection ${m.connection}, batch ${m.batch}: ${m.problem}\n  frames: ${m.frames.slice(0, 80).join('\n          ')}`).join('\n')}`).to.deep.equal([]);
    expect(report.frames).to.be.at.least(100_000);
    expect(report.normalCalls).to.be.at.least(2 * 99);
    // A time CI can afford: CPU time, which a busy machine does not inflate as it does wall time.
    expect(cpuMs, 'CPU time of the run').to.be.lessThan(60_000);
    // Nothing went wrong inside: no 500 was logged, no promise was rejected unhandled.
    const errors = logs.lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => `${l.message} ${JSON.stringify(l.fields)}`), 'errors logged during the fuzz run').to.deep.equal([]);
    expect(rejections.map(String), 'unhandled rejections').to.deep.equal([]);
    // Every socket the fuzz opened is gone, and nothing of its sessions is left behind.
    const deadline = Date.now() + 5000;
    while (server.stats().sockets > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.stats()).to.deep.include({ sockets: 0, sessions: 0, methodsInFlight: 0, queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 });
  }
});

/** The seed `FUZZ_SEED` names (a non-negative integer), or a fresh one. */
export function fuzzSeed(env: string | undefined): number {
  if (env === undefined || env === '') return Date.now() % 2 ** 31;
  const seed = Number(env);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`FUZZ_SEED must be a non-negative integer, got ${JSON.stringify(env)}`);
  return seed;
}
