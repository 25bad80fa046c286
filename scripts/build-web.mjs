#!/usr/bin/env node
/**
 * Builds the account-security page (`web/`) into `dist/web/`, which `server/web/` serves at
 * `/account/`: type-checks `web/` with its own tsconfig (DOM, bundler resolution, no Node
 * types), bundles `web/app.ts` with the browser build of `client/` and `qrcode` into one ES
 * module, minifies `web/app.css`, and copies `index.html` and `icon.svg`.
 *
 *   node scripts/build-web.mjs    (run by `npm run build`, after tsc)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'web');
const out = join(root, 'dist', 'web');
const started = Date.now();

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const check = spawnSync(process.execPath, [tsc, '-p', join(source, 'tsconfig.json')], { stdio: 'inherit' });
if (check.status !== 0) {
  console.error('build-web: web/ does not type-check');
  process.exit(check.status ?? 1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: 'web/app.ts' },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers with <dialog>, private class fields and top-level ES modules.
  target: ['chrome111', 'firefox113', 'safari16.4'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  absWorkingDir: root,
  entryPoints: { app: 'web/app.css' },
  outdir: out,
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) copyFileSync(join(source, file), join(out, file));

const sizes = ['index.html', 'app.js', 'app.css', 'icon.svg'].map((f) => `${f} ${(statSync(join(out, f)).size / 1024).toFixed(1)} KiB`);
console.log(`build-web: ${relative(root, out)}/ in ${Date.now() - started} ms (${sizes.join(', ')})`);
