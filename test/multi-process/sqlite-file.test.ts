/**
 * Two `ddp-guard serve` processes on one SQLite file, on one host: supported (README, "Several
 * processes"). WAL lets one process read while the other writes, the busy timeout makes a
 * writer wait for the other's lock, every single-use operation is one conditional statement
 * and every account change one IMMEDIATE transaction, so they hold across processes as they
 * do across connections. What is not shared without `--redis`: rate limits and events.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runCli, startServe, type ServeProcess } from '../cli/helpers.js';
import { DdpClient } from '../helpers/ddp.js';
import { enrolTotp, fails, login, ok, passwordLogin, passwordOf, totpAt, type Login } from './support.js';

describe('two serve processes on one SQLite file', function () {
  this.timeout(60_000);
  let cwd: string;
  let db: string;
  const env = cleanEnv({ DDP_GUARD_SECRET: randomBytes(32).toString('hex') });
  const processes: ServeProcess[] = [];
  const clients: DdpClient[] = [];
  let A: ServeProcess;
  let B: ServeProcess;

  const loginOn = async (proc: ServeProcess, name: string, argument?: Record<string, unknown>): Promise<Login> => {
    const session = await login(proc.url, name, argument);
    clients.push(session.client);
    return session;
  };

  before(async function () {
    // Two servers and two CLI processes starting: long on a busy machine.
    this.timeout(180_000);
    cwd = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-sqlite2-'));
    db = path.join(cwd, 'guard.db');
    // Started together on a file that does not exist yet: both create and migrate it at once.
    [A, B] = await Promise.all([0, 1].map(() => startServe(['--port', '0', '--db', db, '--log-level', 'warn'], { cwd, env })));
    processes.push(A, B);
    for (const name of ['anna', 'boris']) {
      const added = await runCli(['user', 'add', name, '--email', `${name}@example.com`, '--password', passwordOf(name), '--verified', '--db', db], { cwd, env, timeoutMs: 60_000 });
      expect(added.code, added.stderr).to.equal(0);
    }
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  after(async () => {
    for (const proc of processes) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      await proc.exited;
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('a login token made by A works on B, and a TOTP code accepted on A is a replay on B', async () => {
    const onA = await loginOn(A, 'anna');
    const { secret } = await enrolTotp(onA.client, 'anna');
    const onB = await loginOn(B, 'anna', { resume: onA.token });
    expect(onB.userId).to.equal(onA.userId);
    const code = totpAt(secret, 1);
    expect(((await ok(onA.client, '2fa:regenerateCodes', code)) as { codes: string[] }).codes).to.have.length(12);
    expect((await fails(onB.client, '2fa:regenerateCodes', code)).error).to.equal('totp-invalid');
  });

  it('one backup code used through A and B at the same moment: exactly one login wins', async () => {
    const onA = await loginOn(A, 'boris');
    const { codes } = await enrolTotp(onA.client, 'boris');
    for (const code of codes.slice(0, 4)) {
      const [viaA, viaB] = await Promise.all([DdpClient.connect(A.url), DdpClient.connect(B.url)]);
      clients.push(viaA, viaB);
      const argument = { totp: { login: passwordLogin('boris'), code } };
      const outcomes = await Promise.all([viaA.call('login', argument), viaB.call('login', argument)]);
      const winners = outcomes.filter((o) => o.error === undefined);
      expect(winners, `code ${code}: ${JSON.stringify(outcomes.map((o) => o.error?.error ?? 'ok'))}`).to.have.length(1);
    }
    expect(await ok(onA.client, '2fa:checkCodesRemaining')).to.deep.equal({ remaining: codes.length - 4 });
  });
});
