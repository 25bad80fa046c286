/**
 * docs/load-testing.md, run as written: every `sh` block marked as run by this file, in order,
 * in a fresh folder with `ddp-guard` on the PATH and examples/ beside it, as a reader in the
 * repository would. The `serve` line runs in the background on a free port (DDP_GUARD_PORT;
 * the page's `3000` becomes that port); every other command must exit 0. Then the reports the
 * page promises must exist and say the thresholds held.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findRepoRoot } from '../docs/repo-root.js';
import type { LoadReport } from '../../cli/load/report.js';
import { CLI, closedPort, within } from './support.js';

const root = findRepoRoot(import.meta.url);
const PAGE = path.join(root, 'docs', 'load-testing.md');
const MARKER = '<!-- docs-test: skip (run by test/cli-client/load-docs.test.ts) -->';

/** The `sh` blocks right after this file's marker, in order. */
function markedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp(`${MARKER.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``, 'g');
  for (const m of markdown.matchAll(re)) blocks.push(m[1]!);
  return blocks;
}

describe('docs: load-testing.md runs as written', function () {
  this.timeout(90_000);
  let dir: string;
  let server: ChildProcess | undefined;

  after(() => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every marked sh block runs and exits 0; the reports exist and the thresholds held', async () => {
    const page = readFileSync(PAGE, 'utf8');
    const blocks = markedBlocks(page);
    expect(blocks.length, 'blocks marked for this test').to.equal(4);
    expect(page.match(/```sh/g)?.length, 'every sh block is marked for this test').to.equal(blocks.length);
    expect(existsSync(path.join(root, 'docs', 'screenshots', 'load-report.png')), 'the screenshot the page shows').to.equal(true);

    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-load-docs-'));
    const bin = path.join(dir, 'bin');
    const work = path.join(dir, 'work');
    mkdirSync(bin);
    mkdirSync(work);
    writeFileSync(path.join(bin, 'ddp-guard'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(path.join(bin, 'ddp-guard'), 0o755);
    symlinkSync(path.join(root, 'examples'), path.join(work, 'examples'));
    const port = await closedPort();
    const env: NodeJS.ProcessEnv = { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, HOME: dir, DDP_GUARD_PORT: String(port) };
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DDP_GUARD_') && !(k in env)) env[k] = v;

    for (const block of blocks) {
      const script = block.replace(/127\.0\.0\.1:3000/g, `127.0.0.1:${port}`);
      const lines = script.split('\n');
      const serveLine = lines.find((l) => l.startsWith('ddp-guard serve'));
      const rest = lines.filter((l) => l !== serveLine).join('\n');
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', rest], { cwd: work, env, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `${rest}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`).to.equal(0);
      if (serveLine) {
        server = spawn('bash', ['-c', `exec ${serveLine}`], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        await within(
          new Promise<void>((resolve, reject) => {
            const probe = setInterval(() => {
              const p = spawnSync(process.execPath, [CLI, 'call', `ws://127.0.0.1:${port}`, 'rooms.list', '--timeout', '1000'], { encoding: 'utf8' });
              if (p.status === 0) {
                clearInterval(probe);
                resolve();
              }
            }, 300);
            server!.once('exit', () => {
              clearInterval(probe);
              reject(new Error(`the server exited: ${out}`));
            });
          }),
          45_000,
          'the server of the page',
        );
      }
    }
    const report = JSON.parse(readFileSync(path.join(work, 'report.json'), 'utf8')) as LoadReport;
    expect(report.thresholds.map((t) => t.ok)).to.deep.equal([true, true]);
    expect(report.figures.map((f) => `${f.kind} ${f.name}`)).to.include.members(['login login', 'method rooms.list', 'method messages.send', 'sub messages']);
    expect(readFileSync(path.join(work, 'report.html'), 'utf8')).to.match(/<svg id="chart-latency"/);
  });
});
