/**
 * The bench's own load generator (bench/load.ts: raw `ws`, one `echo` call in flight on each
 * connection, connections kept open) as a process of its own, for one slice of
 * `npm run bench:load`: `node dist/bench/load-gen.js <url> --seconds <n> --connections <n>`
 * prints one JSON line, `{"calls":…,"cpuMs":…,"wallMs":…,"connections":…}`.
 *
 * It is measured as `ddp-guard load` measures itself: a new process each time (its code cold,
 * as `ddp-guard load`'s is), one connection opened and closed first (as `ddp-guard load` probes
 * the server before its run), then `process.cpuUsage()` from before its first connection opens
 * to after its last is closed, the connecting counted in the seconds.
 */
import { performance } from 'node:perf_hooks';
import { LoadConnection } from './load.js';

const USAGE = 'usage: node dist/bench/load-gen.js <ws-url> [--seconds 5] [--connections 50]';

function parseArgs(argv: readonly string[]): { url: string; seconds: number; connections: number } {
  const url = argv[0];
  if (url === undefined || !/^wss?:\/\//.test(url)) throw new Error(`a ws:// URL first\n${USAGE}`);
  const out = { url, seconds: 5, connections: 50 };
  for (let i = 1; i < argv.length; i += 2) {
    const n = Number(argv[i + 1]);
    if (!(n > 0)) throw new Error(`${argv[i]} needs a number > 0\n${USAGE}`);
    if (argv[i] === '--seconds') out.seconds = n;
    else if (argv[i] === '--connections') out.connections = Math.floor(n);
    else throw new Error(`unknown option '${argv[i]}'\n${USAGE}`);
  }
  return out;
}

const { url, seconds, connections } = parseArgs(process.argv.slice(2));
(await LoadConnection.open(url, 'ddp')).close();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const until = t0 + seconds * 1000;
const latencies: number[] = [];
const conns = await Promise.all(Array.from({ length: connections }, () => LoadConnection.open(url, 'ddp')));
const counts = await Promise.all(conns.map((c) => c.run({ method: 'echo', payloadJson: '"hi"' }, 1, t0, until, latencies)));
for (const c of conns) c.close();
const cpu = process.cpuUsage(cpu0);
const calls = counts.reduce((a, b) => a + b, 0);
process.stdout.write(`${JSON.stringify({ calls, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, connections })}\n`);
