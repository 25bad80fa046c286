#!/usr/bin/env node
/**
 * `npm start`: `ddp-guard serve` from this checkout, building first only what serving needs
 * and only when it is out of date: the server, client and protocol (`tsconfig.build.json`, not
 * the tests and the bench) when a source is newer than `dist/cli/main.js`, and the
 * account page when `web/` (or the client it bundles) is newer than `dist/web/app.js`. After a
 * first build the server starts in about a second. Arguments go to `serve`:
 *
 *   npm start -- --port 4000 --app ./examples/chat/app.js
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);

/** The newest modification time of the files under `paths` (folders walked), 0 when none. */
function newest(paths) {
  let max = 0;
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) max = Math.max(max, newest([join(path, entry)]));
    } else {
      max = Math.max(max, stat.mtimeMs);
    }
  }
  return max;
}

/** The modification time of `file`, or -1 when it does not exist (always out of date). */
function builtAt(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function run(label, args) {
  process.stderr.write(`npm start: ${label}…\n`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const library = [at('protocol'), at('server'), at('client'), at('cli'), at('tsconfig.json'), at('tsconfig.build.json'), at('package.json')];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
if (newest(library) > builtAt(at('dist', 'cli', 'main.js'))) run('building the server (tsc -p tsconfig.build.json)', [tsc, '-p', at('tsconfig.build.json')]);
if (newest([at('web'), at('client'), at('protocol')]) > builtAt(at('dist', 'web', 'app.js'))) run('building the account page', [at('scripts', 'build-web.mjs')]);

// The CLI reads process.argv: run it in this process as `ddp-guard serve <args>`.
const main = at('dist', 'cli', 'main.js');
process.argv = [process.argv[0], main, 'serve', ...process.argv.slice(2)];
await import(pathToFileURL(main).href);
