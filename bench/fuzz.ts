/**
 * `npm run fuzz`: the wire fuzz of `test/reliability/fuzz.test.ts`, at 10⁶ frames by default,
 * outside CI. Prints progress every 10 s and a summary; exits 1 on any mismatch, internal error
 * logged, unhandled rejection, or a server that does not return to zero sessions.
 *
 *   npm run fuzz -- --frames 1000000 --seed 42 --connections 6
 */
import { parseArgs } from 'node:util';
import { startServer, stopServers } from '../test/helpers/server.js';
import type { Logger } from '../server/index.js';
import { runFuzz, type FuzzReport } from '../test/reliability/fuzz/driver.js';
import { createNormalUser, installFuzzApp } from '../test/reliability/fuzz/app.js';
import { FUZZ_METHOD_NAMES } from '../test/reliability/fuzz/oracle.js';

const MAX_FRAME_BYTES = 64 * 1024;
const MAX_SUBSCRIPTIONS = 20;

function summary(report: FuzzReport): string {
  const kinds = Object.entries(report.answers).sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${String(n).padStart(9)}  ${k}`);
  return [
    `seed ${report.seed}: ${report.frames} frames in ${(report.elapsedMs / 1000).toFixed(1)} s (${Math.round(report.frames / (report.elapsedMs / 1000))} frames/s), ${report.connectionsOpened} connections opened`,
    `well-behaved client: ${report.normalCalls} calls, all right; slowest ${report.normalMaxLatencyMs.toFixed(1)} ms`,
    'answers by kind:',
    ...kinds,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '1000000' },
      seed: { type: 'string' },
      connections: { type: 'string', default: '6' },
    },
  });
  const frames = Number(values.frames);
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  const rejections: unknown[] = [];
  process.on('unhandledRejection', (reason) => rejections.push(reason));
  // Only errors are kept (a million debug lines would be the biggest thing in memory).
  const errors: { message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (fields, message) => void errors.push({ message, fields }) };
  const server = await startServer({ maxFrameBytes: MAX_FRAME_BYTES, maxSubscriptions: MAX_SUBSCRIPTIONS, logger }, installFuzzApp);
  await createNormalUser(server);
  const builtIns = server.registry.names().filter((n) => !FUZZ_METHOD_NAMES.includes(n) && n !== 'fuzz.whoami');
  console.log(`fuzzing ${server.url} with ${frames} frames over ${values.connections} connections, seed ${seed}`);
  const cpuBefore = process.cpuUsage();
  const report = await runFuzz({
    url: server.url,
    seed,
    frames,
    connections: Number(values.connections),
    batch: 60,
    builtIns,
    maxFrameBytes: MAX_FRAME_BYTES,
    maxSubscriptions: MAX_SUBSCRIPTIONS,
    normalEvery: 1000,
    preHandshake: 4,
    progressEveryMs: 10_000,
    onProgress: (r) => {
      const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
      console.log(`  ${(r.elapsedMs / 1000).toFixed(0).padStart(5)} s  ${String(r.frames).padStart(8)} frames  ${Math.round(r.frames / (r.elapsedMs / 1000))} frames/s  ${r.connectionsOpened} connections  ${r.mismatches.length} mismatches  rss ${rss} MiB`);
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  console.log(summary(report));
  console.log(`CPU time: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; RSS at the end ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  const deadline = Date.now() + 5000;
  while (server.stats().sockets > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const stats = server.stats();
  console.log(`server after the run: ${JSON.stringify(stats)}`);
  let failed = false;
  if (report.mismatches.length > 0) {
    failed = true;
    console.log(`\n${report.mismatches.length} mismatches:`);
    for (const m of report.mismatches.slice(0, 20)) console.log(`connection ${m.connection}, batch ${m.batch}: ${m.problem}\n  frames:\n    ${m.frames.slice(0, 80).join('\n    ')}`);
  }
  if (errors.length > 0) {
    failed = true;
    console.log(`\n${errors.length} errors logged, first: ${errors.slice(0, 5).map((l) => `${l.message} ${JSON.stringify(l.fields)}`).join('\n')}`);
  }
  if (rejections.length > 0) {
    failed = true;
    console.log(`\n${rejections.length} unhandled rejections, first: ${String(rejections[0])}`);
  }
  if (Object.values(stats).some((v) => v !== 0)) {
    failed = true;
    console.log('\nthe server did not return to zero');
  }
  await stopServers();
  console.log(failed ? 'FAIL' : 'PASS: every frame got its documented answer');
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
