/**
 * The `shipped` scenario's server: `ddp-guard serve` started through its CLI entry
 * (dist/cli/main.js) exactly as a user starts it, with its defaults — `info` logging
 * to stderr (here a file, as a service manager would keep it), metrics, health checks, the
 * account page, the SQLite file ./data/ddp-guard.sqlite of a fresh working directory — and
 * only `--port 0` and `--app` (echo and echo.guarded, bench/servers/shipped-app.ts) given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'cli', 'main.js');
const APP = path.join(here, 'servers', 'shipped-app.js');

export interface ShippedServer {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Bytes written to the log (the server's stderr) so far. */
  logBytes(): number;
  /** Removes the working directory (after the process ended). */
  cleanUp(): void;
}

/**
 * Starts the server; `pin` runs it on core 0 through taskset like the other servers.
 * `nodeFlags` are added to node's (the bench's `--expose-gc`, a profile); `args` to serve's
 * (the fleet and capacity benches' `--db postgres://…`, `--redis …`) and `env` to its
 * environment (their shared `DDP_GUARD_SECRET`).
 */
export async function startShipped(pin: boolean, nodeFlags: readonly string[], args: readonly string[] = [], extraEnv: Record<string, string> = {}, app = APP): Promise<ShippedServer> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-bench-shipped-'));
  const logFile = path.join(cwd, 'serve.log');
  const log = openSync(logFile, 'w');
  const argv = [...nodeFlags, CLI, 'serve', '--port', '0', '--app', app, ...args];
  // A developer's DDP_GUARD_* settings must not change the defaults measured.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DDP_GUARD_'))), ...extraEnv };
  const child = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...argv], { cwd, env, stdio: ['ignore', 'pipe', log, 'ipc'] })
    : spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', log, 'ipc'] });
  closeSync(log);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (ws:\/\/\S+\/websocket)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`ddp-guard serve exited early (${code}); its log: ${logFile}`)));
  });
  return {
    child,
    pid: child.pid!,
    url,
    logBytes: () => statSync(logFile).size,
    cleanUp: () => rmSync(cwd, { recursive: true, force: true }),
  };
}
