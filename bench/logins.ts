/**
 * Logins under admission control: the `logins` scenario of `npm run bench` on its own
 * (bench/logins-scenario.ts: the bcrypt pool's capacity measured with it saturated; then plain
 * `echo` calls, an open loop at 500/s, without and with 20 logins/s offered, open loop; rows
 * for the plain p99 ratio, logins completed against the capacity, how fast refused logins are
 * answered and how long accepted ones take). This file only starts bench/run.js, so the two
 * cannot drift apart.
 *
 *   node dist/bench/logins.js [--seconds 4] [--json]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.includes('--rate')) {
  process.stderr.write('--rate is gone: the scenario offers a fixed 20 logins/s (bench/logins-scenario.ts, LOGIN_RATE)\n');
  process.exit(2);
}
// `--seconds` was this script's name for bench/run.js's `--duration`.
const forwarded = args.map((a) => (a === '--seconds' ? '--duration' : a));
const runJs = fileURLToPath(new URL('./run.js', import.meta.url));
const child = spawn(process.execPath, [runJs, '--only', 'logins', ...forwarded], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
