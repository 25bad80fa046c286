/**
 * How much password logins slow down everybody else: the `logins` scenario of `npm run bench`
 * on its own (p50/p99 of plain `echo` calls, an open loop at 500/s, on an idle server, then while 20 logins
 * per second at bcrypt cost 10 run on other connections; the achieved login rate; where the
 * bcrypt threads run is explained in bench/run.ts). This file only starts bench/run.js, so
 * the two cannot drift apart.
 *
 *   node dist/bench/logins.js [--seconds 4] [--json]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.includes('--rate')) {
  process.stderr.write('--rate is gone: the scenario runs the issue\'s fixed 20 logins/s (bench/run.ts, LOGIN_RATE)\n');
  process.exit(2);
}
// `--seconds` was this script's name for bench/run.js's `--duration`.
const forwarded = args.map((a) => (a === '--seconds' ? '--duration' : a));
const runJs = fileURLToPath(new URL('./run.js', import.meta.url));
const child = spawn(process.execPath, [runJs, '--only', 'logins', ...forwarded], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
