/**
 * docs/account-page-security.md: every `sh` block runs as written, in order, in a fresh folder
 * with `ddp-guard` on the PATH — the `serve` line in the background — each command exiting 0
 * and printing the literal `"key":value` pairs of the `# → …` line under it. The only change
 * from what a reader types is the port (3000 may be taken: the server gets `DDP_GUARD_PORT`,
 * URLs the same port). The page's pictures are checked to exist, and the reset mail the last
 * block asks for to carry the link to the page.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { findRepoRoot } from './repo-root.js';
import { codeBlocks, commandsOf, compactOutput, expectedPairs, type Command } from './readme-commands.js';
import { freePort } from '../helpers/ports.js';

const root = findRepoRoot(import.meta.url);
const PAGE = 'docs/account-page-security.md';
const markdown = readFileSync(path.join(root, PAGE), 'utf8');
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const MARKER = 'skip (run by test/docs/account-page-security.test.ts)';

describe(`${PAGE}: every command runs as written`, function () {
  this.timeout(60_000);
  let work: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let server: ChildProcess | null = null;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'ddp-guard-account-docs-'));
    const bin = path.join(work, '.bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'ddp-guard'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(path.join(bin, 'ddp-guard'), 0o755);
    port = await freePort();
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DDP_GUARD_')) clean[k] = v;
    env = { ...clean, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, DDP_GUARD_PORT: String(port) };
  });

  after(() => {
    server?.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  /** The command as the test runs it: the reader's port 3000 is the test's free port. */
  function localised(command: Command): string {
    return command.text.replace(/127\.0\.0\.1:3000/g, `127.0.0.1:${port}`);
  }

  /** Start `serve` in the background and wait for its start-up line. */
  function startServe(text: string): Promise<void> {
    const child = spawn('sh', ['-c', `exec ${text}`], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000);
      const read = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        if (out.includes('ddp-guard listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}:\n${out}`));
      });
    });
  }

  it('marks every sh block as run by this test, and links each picture to a file that exists', () => {
    const blocks = codeBlocks(markdown).filter((b) => b.lang === 'sh');
    expect(blocks.length).to.be.at.least(4);
    for (const block of blocks) expect(block.marker, `the sh block at line ${block.line}`).to.equal(MARKER);
    const pictures = [...markdown.matchAll(/!\[[^\]]+\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(pictures).to.have.length.at.least(5);
    for (const picture of pictures) expect(existsSync(path.join(root, 'docs', picture)), picture).to.equal(true);
  });

  it('runs each command in order: each exits 0 and prints what the page shows', async () => {
    const commands = codeBlocks(markdown).filter((b) => b.lang === 'sh').flatMap((b) => commandsOf(b));
    expect(commands.length).to.be.at.least(6);
    for (const command of commands) {
      const text = localised(command);
      if (/^ddp-guard serve\b/.test(text)) {
        await startServe(text);
        continue;
      }
      const run = spawnSync('sh', ['-c', text], { cwd: work, env, encoding: 'utf8', timeout: 30_000 });
      const where = `${PAGE}:${command.line}: ${command.text}`;
      expect(run.status, `${where}\n${run.stderr}`).to.equal(0);
      const output = compactOutput(run.stdout);
      for (const answer of command.answers) {
        for (const pair of expectedPairs(answer)) expect(output, where).to.include(pair);
      }
    }
    // What the last block asked for: a reset mail in the outbox, with the link to the page.
    const outbox = path.join(work, 'data', 'outbox');
    const deadline = Date.now() + 5_000;
    while ((!existsSync(outbox) || readdirSync(outbox).filter((f) => f.endsWith('.eml')).length === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mails = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect(mails).to.have.length(1);
    const mail = readFileSync(path.join(outbox, mails[0]!), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    expect(mail).to.match(new RegExp(`http://127\\.0\\.0\\.1:${port}/account/#/reset-password/[A-Za-z0-9_-]{40,}`));
  });
});
