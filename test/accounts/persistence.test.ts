import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientPool } from '../helpers/ddp.js';
import { meteorPassword, removeTempDirs, tempDir } from './support.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/serve.js', import.meta.url));
const REPO = path.resolve(path.dirname(CLI), '../../..');

/** The environment of a child: none of the CLI's own variables leak in from ours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('DDP_GUARD_')) env[key] = value;
  // Cheap hashing and quiet logs: the test is about persistence, not bcrypt.
  return { ...env, DDP_GUARD_BCRYPT_COST: '4', DDP_GUARD_LOG_LEVEL: 'warn' };
}

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, args, { cwd: REPO, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d: Buffer) => (result.stdout += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (result.stderr += d.toString('utf8')));
  return result;
}

/** Wait until the child prints its WebSocket URL. */
async function listening(r: Run, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const url = /(ws:\/\/[^\s)]+\/websocket)/.exec(r.stdout)?.[1];
    if (url) return url;
    if (r.child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${r.stdout} ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('accounts: sessions survive a crash of the server process', function () {
  const pool = new ClientPool();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    await pool.closeAll();
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    removeTempDirs();
  });

  // The CLI when it is built, a createServer script otherwise.
  const viaCli = existsSync(CLI);
  const entry = (args: string[]): string[] => (viaCli ? [CLI, ...args] : [FIXTURE, ...args]);

  it(`resumes a session after SIGKILL and a restart on the same SQLite file (${viaCli ? 'ddp-guard CLI' : 'fixture script'})`, async function () {
    // Three Node processes start one after the other; a busy machine makes that slow.
    this.timeout(45_000);
    const db = path.join(tempDir(), 'db.sqlite');
    const add = run(entry(['user', 'add', 'alice', '--email', 'a@x.io', '--password', 'pw-alice-1', '--db', db]));
    expect(await add.exited, `user add failed: ${add.stdout} ${add.stderr}`).to.equal(0);

    const first = run(entry(['serve', '--port', '0', '--db', db]));
    children.push(first.child);
    const client = await pool.connect(await listening(first));
    const login = await client.call('login', { user: { email: 'a@x.io' }, password: meteorPassword('pw-alice-1') });
    expect(login.error, JSON.stringify(login.error)).to.equal(undefined);
    const { id, token } = login.result as { id: string; token: string };

    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal(null);
    await client.closed;

    const second = run(entry(['serve', '--port', '0', '--db', db]));
    children.push(second.child);
    const again = await pool.connect(await listening(second));
    const resumed = await again.call('login', { resume: token });
    expect(resumed.error, JSON.stringify(resumed.error)).to.equal(undefined);
    expect(resumed.result).to.include({ id, token, type: 'resume' });
    expect(again.docs('users').get(id)).to.include({ username: 'alice' });
    const bogus = await again.call('login', { resume: `${token}x` });
    expect(bogus.error?.error).to.equal(403);
  });
});
