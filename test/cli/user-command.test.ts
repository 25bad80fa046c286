import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { openStore } from '../../server/storage/open.js';
import { cleanEnv, runCli, type CliResult } from './helpers.js';

describe('cli: ddp-guard user (child processes)', function () {
  this.timeout(20_000);
  let dir: string;
  let db: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-cli-'));
    db = path.join(dir, 'users.sqlite');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const user = (args: string[], input?: string): Promise<CliResult> =>
    runCli(['user', ...args, '--db', db], { cwd: dir, ...(input === undefined ? {} : { input }) });

  async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
    const store = await openStore(db);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  it('adds a user that user list then shows, with ✓ for a verified email', async () => {
    const add = await user(['add', 'alice', '--email', 'alice@Example.com', '--password', 's3cret-pass', '--verified']);
    expect(add.code, add.stderr).to.equal(0);
    expect(add.stdout).to.match(/Created user alice \(id \w{17}\), email alice@example\.com \(verified\)/);
    const bob = await user(['add', 'bob', '--email', 'bob@example.com', '--password-stdin'], 'hunter2-hunter2\n');
    expect(bob.code, bob.stderr).to.equal(0);

    const list = await user(['list']);
    expect(list.code, list.stderr).to.equal(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^USERNAME\s+ID\s+EMAILS\s+2FA$/);
    expect(lines[1]).to.match(/^alice\s+\w{17}\s+alice@example\.com ✓\s+off$/);
    expect(lines[2]).to.match(/^bob\s+\w{17}\s+bob@example\.com\s+off$/);
  });

  it('refuses a duplicate username or email with exit status 4 and a clear message', async () => {
    const name = await user(['add', 'Alice', '--email', 'other@example.com', '--password', 'long-enough-1']);
    expect(name.code).to.equal(4);
    expect(name.stderr.trim()).to.equal("ddp-guard: Username 'Alice' is taken: choose another username.");
    const email = await user(['add', 'carol', '--email', 'ALICE@example.com', '--password', 'long-enough-1']);
    expect(email.code).to.equal(4);
    expect(email.stderr).to.contain("Email 'ALICE@example.com' is already used");
  });

  it('reports usage errors with exit status 2', async () => {
    const [noEmail, noPassword] = await Promise.all([
      user(['add', 'dave', '--password', 'long-enough-1']),
      user(['add', 'dave', '--email', 'dave@example.com']),
    ]);
    expect(noEmail.code).to.equal(2);
    expect(noEmail.stderr).to.contain("required option '--email <address>'");
    expect(noPassword.code).to.equal(2);
    expect(noPassword.stderr).to.contain('No password given');
  });

  it('user passwd changes the password and signs out the sessions', async () => {
    const alice = await withStore(async (store) => {
      const u = await store.users.findByUsername('alice');
      await store.loginTokens.insert({ hashedToken: 'h1', userId: u?.id ?? '', createdAt: new Date(), expiresAt: null });
      return u;
    });
    const result = await user(['passwd', 'alice', '--password', 'n3w-password']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('Password of alice changed; 1 login session signed out.');
    await withStore(async (store) => {
      const after = await store.users.findById(alice?.id ?? '');
      expect(after?.passwordHash).to.not.equal(alice?.passwordHash);
      expect(await store.loginTokens.find('h1')).to.equal(null);
    });
  });

  it('user verify-email marks an address verified', async () => {
    const result = await user(['verify-email', 'bob', 'BOB@example.com']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('Marked verified: bob@example.com.');
    await withStore(async (store) => {
      expect((await store.users.findByUsername('bob'))?.emails).to.deep.equal([{ address: 'bob@example.com', verified: true }]);
    });
    const wrong = await user(['verify-email', 'bob', 'nope@example.com']);
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.contain("User 'bob' has no email 'nope@example.com'");
  });

  it('user reset-2fa turns 2FA off and writes an audit entry', async () => {
    const userId = await withStore(async (store) => {
      const u = await store.users.findByUsername('alice');
      const id = u?.id ?? '';
      await store.twoFactor.setPendingTotpSecret(id, 'ciphertext');
      await store.twoFactor.enableTotp(id, ['b1', 'b2', 'b3']);
      await store.twoFactor.setEmailEnabled(id, true);
      return id;
    });
    expect((await user(['list'])).stdout).to.match(/alice.*totp \(3 backup codes\), email/);

    const result = await user(['reset-2fa', 'alice@example.com']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('Two-factor authentication of alice reset (turned off authenticator app and email codes');
    await withStore(async (store) => {
      expect(await store.twoFactor.get(userId)).to.deep.include({ totpEnabled: false, emailEnabled: false, backupCodesRemaining: 0 });
      const audit = await store.audit.list({ userId });
      expect(audit.map((a) => a.action)).to.deep.equal(['2fa.reset']);
      expect(audit[0]).to.deep.include({ userAgent: 'cli', clientAddress: null });
      expect(audit[0]?.details?.['by']).to.be.a('string').and.not.equal('');
    });
  });

  it('user remove deletes the user; unknown users exit with status 3', async () => {
    const removed = await user(['remove', 'bob']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect(removed.stdout).to.match(/Removed user bob \(id \w{17}\)\./);
    expect(await withStore((store) => store.users.findByUsername('bob'))).to.equal(null);
    const unknown = [['remove', 'bob'], ['reset-2fa', 'nobody@example.com']];
    const results = await Promise.all(unknown.map((args) => user(args)));
    results.forEach((result, i) => {
      expect(result.code, `${unknown[i]?.join(' ')}: ${result.stderr}`).to.equal(3);
      expect(result.stderr.trim()).to.match(/^ddp-guard: No user '[^']+': check the name with 'ddp-guard user list'/);
    });
  });

  it('uses DDP_GUARD_DB like serve, and does not create a database that is not there', async () => {
    const viaEnv = await runCli(['user', 'list'], { cwd: dir, env: cleanEnv({ DDP_GUARD_DB: db }) });
    expect(viaEnv.code, viaEnv.stderr).to.equal(0);
    expect(viaEnv.stdout).to.contain('alice');
    const missing = await runCli(['user', 'list', '--db', 'typo.sqlite'], { cwd: dir });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain(`There is no database at ${path.join(dir, 'typo.sqlite')}`);
  });
});
