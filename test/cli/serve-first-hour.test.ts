/**
 * `ddp-guard serve` as a newcomer meets it (issue 17, "The first hour"), through the built
 * binary in child processes: `/` leads to the account page, every option has a flag made from
 * the options table, unknown database URL schemes and unusable paths are one clear line, a
 * port in use is said first, an unreachable SMTP server is a warning on the start line, and
 * `npm start` after a build starts at once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { DEFAULTS } from '../../server/services/options.js';
import { loadServeConfig } from '../../cli/config.js';
import { OPTION_FLAGS, kebabCase } from '../../cli/serve-flags.js';
import { OPTION_HELP } from '../../cli/option-help.js';
import { section, tableWithHeader, cellText } from '../docs/markdown.js';
import { findRepoRoot } from '../docs/repo-root.js';
import { readFileSync } from 'node:fs';
import { cleanEnv, killChild, runCli, startServe, type ServeProcess } from './helpers.js';

const root = findRepoRoot(import.meta.url);

describe('cli: serve in the first hour', function () {
  this.timeout(20_000);
  let dir: string;
  const running: ServeProcess[] = [];

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-first-hour-'));
  });
  after(() => {
    for (const serve of running) killChild(serve.child);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(args: string[]): Promise<ServeProcess> {
    const serve = await startServe(args, { cwd: dir });
    running.push(serve);
    return serve;
  }

  it('http://host:port/ redirects to the account page (and is 404 with the page off)', async () => {
    const on = await start(['--port', '0', '--db', 'memory', '--log-level', 'warn']);
    const base = on.url.replace(/^ws/, 'http').replace(/\/websocket$/, '');
    const res = await fetch(`${base}/`, { redirect: 'manual' });
    expect(res.status).to.equal(302);
    expect(res.headers.get('location')).to.equal('/account/');
    expect((await fetch(`${base}/`)).url).to.equal(`${base}/account/`);
    const off = await start(['--port', '0', '--db', 'memory', '--log-level', 'warn', '--no-account-page']);
    expect((await fetch(off.url.replace(/^ws/, 'http').replace(/\/websocket$/, '/'))).status).to.equal(404);
  });

  describe('a flag for every option', () => {
    it('serve --help lists --<option-name> for every key of DEFAULTS (and --no-… for booleans), with its meaning', async () => {
      const help = await runCli(['serve', '--help'], { cwd: dir });
      expect(help.code).to.equal(0);
      const text = help.stdout.replace(/\s+/g, ' ');
      const missing = Object.keys(DEFAULTS).filter((name) => {
        const flag = `--${kebabCase(name)}`;
        const boolean = typeof (DEFAULTS as Record<string, unknown>)[name] === 'boolean';
        return !text.includes(`${flag} `) || (boolean && !text.includes(`--no-${kebabCase(name)} `)) || !text.includes(OPTION_HELP[name as keyof typeof OPTION_HELP].replace(/\s+/g, ' '));
      });
      expect(missing, 'options without a flag in serve --help').to.deep.equal([]);
    });

    it("each flag's help is the options table's meaning (docs/options.md) (both generated from the TSDoc)", () => {
      const table = tableWithHeader(section(readFileSync(path.join(root, 'docs', 'options.md'), 'utf8'), 'Options'), ['option', 'default', 'meaning']);
      const problems = table.rows
        .filter((row) => OPTION_HELP[cellText(row[0] ?? '') as keyof typeof OPTION_HELP] !== (row[2] ?? '').replace(/`/g, '').replace(/\\\|/g, '|'))
        .map((row) => cellText(row[0] ?? ''));
      expect(problems, 'run node scripts/docs-tables.mjs --write').to.deep.equal([]);
    });

    it('every flag sets its option, from text as the command line gives it', () => {
      const samples: Record<string, string | boolean> = {};
      for (const { option, attribute } of OPTION_FLAGS) {
        if (attribute !== option) continue; // aliases are checked below
        const value: unknown = (DEFAULTS as Record<string, unknown>)[option];
        samples[attribute] = typeof value === 'boolean' ? !value
          : typeof value === 'number' ? String(value + 1)
          : option.endsWith('Url') ? (option === 'smtpUrl' ? 'smtp://mail:25' : option === 'redisUrl' ? 'redis://cache:6379' : 'https://chat.example.com')
          : option === 'secret' ? 'ab'.repeat(32)
          : option === 'allowedOrigins' || option === 'webauthnOrigins' ? 'https://a.example, https://b.example'
          : option === 'db' ? ':memory:'
          : `${String(value)}-x`;
      }
      // Some values must stay consistent with each other.
      samples.port = '4000';
      samples.metricsPort = '4001';
      samples.lockoutMaxMs = String(DEFAULTS.lockoutMaxMs);
      const config = loadServeConfig({ argvOptions: samples, env: {} });
      const unset = Object.keys(DEFAULTS).filter((name) => !(name in config.options));
      expect(unset, 'options a flag did not set').to.deep.equal([]);
      expect(config.options.allowedOrigins).to.deep.equal(['https://a.example', 'https://b.example']);
      expect(config.options.webauthnOrigins).to.deep.equal(['https://a.example', 'https://b.example']);
      expect(config.options.accountPage).to.equal(false);
      expect(loadServeConfig({ argvOptions: { smtp: 'smtp://h:25', redis: 'redis://r:6379' }, env: {} }).options).to.deep.equal({ smtpUrl: 'smtp://h:25', redisUrl: 'redis://r:6379' });
    });
  });

  describe('the database', () => {
    it('an unknown URL scheme is refused (exit 2) and no file is created', async () => {
      const r = await runCli(['serve', '--port', '0', '--db', 'mysql://x'], { cwd: dir });
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.contain("Bad value for option 'db' from the flag --db: mysql:// databases are not supported");
      expect(existsSync(path.join(dir, 'mysql:'))).to.equal(false);
    });

    it('an unusable path is one line naming the path and why', async () => {
      writeFileSync(path.join(dir, 'a-file'), 'in the way');
      const blocked = await runCli(['serve', '--port', '0', '--db', 'a-file/x.sqlite'], { cwd: dir });
      expect(blocked.code).to.equal(1);
      expect(blocked.stderr.trim().split('\n'), blocked.stderr).to.have.length(1);
      expect(blocked.stderr).to.contain(`Cannot create the folder ${path.join(dir, 'a-file')} for the SQLite database`);
      expect(blocked.stderr).to.contain('a part of the path is a file, not a folder');
      writeFileSync(path.join(dir, 'not-a-db.sqlite'), 'plain text, long enough to be read as a header by SQLite, surely more than 100 bytes long........');
      const notDb = await runCli(['serve', '--port', '0', '--db', 'not-a-db.sqlite'], { cwd: dir });
      expect(notDb.code).to.equal(1);
      expect(notDb.stderr.trim().split('\n'), notDb.stderr).to.have.length(1);
      expect(notDb.stderr).to.contain(`The file ${path.join(dir, 'not-a-db.sqlite')} is not a SQLite database`);
    });
  });

  it('a port in use: the one clear line is all that is said (nothing about services before it)', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const r = await runCli(['serve', '--port', String(port), '--db', 'memory'], { cwd: dir });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr.trim().split('\n'), r.stderr).to.deep.equal([`ddp-guard: Port ${port} on 127.0.0.1 is already in use: stop the other process or choose another port (--port).`]);
    } finally {
      holder.close();
    }
  });

  it('an unreachable SMTP server is a warning on the start line; the server still starts', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const { port } = holder.address() as net.AddressInfo;
    await new Promise<void>((resolve) => holder.close(() => resolve())); // now nothing listens there
    const serve = await start(['--port', '0', '--db', 'memory', '--log-level', 'warn', '--smtp', `smtp://127.0.0.1:${port}`]);
    const line = serve.stdout().trim();
    expect(line.split('\n')).to.have.length(1);
    expect(line).to.match(new RegExp(`mail via smtp://127\\.0\\.0\\.1:${port} — WARNING: it cannot be reached \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): email codes and other mail fail until it can`));
  });

  it('npm start (scripts/start.mjs) after a build serves within a few seconds, without building', async () => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.mjs'), '--port', '0', '--db', 'memory', '--log-level', 'warn'], { cwd: dir, env: cleanEnv(), stdio: 'pipe' });
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not listening after 10 s; stderr: ${stderr}`)), 10_000);
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          if (/listening on ws:\/\//.test(stdout)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(stderr, 'built nothing: dist is newer than the sources').to.not.contain('npm start: building');
      expect(Date.now() - started, 'ms to listen').to.be.below(5000);
    } finally {
      killChild(child);
    }
  });

  it('the package.json start script is scripts/start.mjs', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).to.equal('node scripts/start.mjs');
    expect(fileURLToPath(new URL('../../../scripts/start.mjs', import.meta.url))).to.equal(path.join(root, 'scripts', 'start.mjs'));
  });
});
