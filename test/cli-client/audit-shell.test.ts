/**
 * `ddp-guard audit` on the database of a running server after a guarded flow (a personal
 * access token created with the password fallback), and `ddp-guard shell` with its commands
 * piped in (no terminal: no prompts, the lines run in order).
 */
import { expect } from 'chai';
import { connectNode } from '../../client/node.js';
import { addUser, killChildren, PASSWORD, PASSWORD_DIGEST, runCli, runInProcess, startTestServer, within, type TestServer } from './support.js';

describe('cli: ddp-guard audit', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    await addUser(t.server, 'olga');
    await addUser(t.server, 'pete');
    // The guarded flow: creating a token asks for a second factor (here the password fallback).
    const client = await within(connectNode(t.url, { reconnect: false, onTwoFactorRequired: () => ({ code: PASSWORD_DIGEST, method: 'password' }) }), 5_000, 'connect');
    try {
      await within(client.loginWithPassword('olga', PASSWORD), 5_000, 'login');
      await within(client.call('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: false }), 5_000, 'generateToken');
    } finally {
      client.close();
    }
  });

  after(async () => {
    killChildren();
    await t?.close();
  });

  it("--user --json lists that user's records: the token creation, when and from where", async () => {
    const r = await runCli(['audit', '--db', t.db, '--user', 'olga', '--json']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    const records = JSON.parse(r.stdout) as { action: string; username: string; clientAddress: string; at: string; details: unknown }[];
    const created = records.find((rec) => rec.action === 'token.created');
    expect(created, r.stdout).to.not.equal(undefined);
    expect(created!.username).to.equal('olga');
    expect(created!.clientAddress).to.equal('127.0.0.1');
    expect(Date.now() - Date.parse(created!.at)).to.be.within(0, 60_000);
    expect(records.every((rec) => rec.username === 'olga')).to.equal(true);
  });

  it('escapes control characters a client put in its user-agent or a token name, in the table and in JSON', async () => {
    const { store } = await t.server.services.get();
    const hostile = 'evil\u001b]0;pwned\u0007\u001b[2J\r\u009b31m\\x41';
    await store.audit.append({ at: new Date(), userId: null, action: 'token.created', clientAddress: '10.9.9.9', userAgent: hostile, details: { name: hostile } });
    for (const args of [['audit', '--db', t.db, '--since', '1h'], ['audit', '--db', t.db, '--since', '1h', '--json']]) {
      const r = await runCli(args);
      expect(r.code, r.stderr).to.equal(0);
      // No raw ESC, BEL, CR, 8-bit CSI or DEL reaches the terminal.
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, args.join(' ')).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(r.stdout).to.contain('evil');
    }
    const table = (await runCli(['audit', '--db', t.db, '--since', '1h'])).stdout;
    // Shown as escapes, and a backslash in the text cannot pass for one.
    expect(table).to.contain('evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x9b31m\\\\x41');
  });

  it('prints a table; --since and --user narrow it; bad values exit 2', async () => {
    // In this process (the JSON test above runs the real binary): quicker.
    const table = await runInProcess(['audit', '--db', t.db, '--since', '1h']);
    const future = await runInProcess(['audit', '--db', t.db, '--since', '2999-01-01']);
    const other = await runInProcess(['audit', '--db', t.db, '--user', 'pete']);
    const badSince = await runInProcess(['audit', '--db', t.db, '--since', 'last tuesday']);
    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/^TIME +USER +ACTION +ADDRESS +USER AGENT +DETAILS\n/);
    expect(table.stdout).to.match(/\n\S+Z +olga +token\.created +127\.0\.0\.1 /);
    expect(future.stdout).to.contain('No audit records since 2999-01-01T00:00:00.000Z');
    expect(other.stdout).to.contain('No audit records of pete');
    expect(badSince.code).to.equal(2);
    expect(badSince.stderr).to.contain('--since takes an ISO date');
  });
});

describe('cli: ddp-guard shell with piped input', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    await addUser(t.server, 'sam');
  });

  after(async () => {
    killChildren();
    await t?.close();
  });

  it('runs the commands in order: calls, errors, .sub with live documents, .login, .unsub', async () => {
    const input = [
      '.call echo {"a": [1, 2]} "two words" \'single quoted\' word 3',
      '.call no.such.method',
      '.sub rooms',
      '.login sam "correct horse battery staple"',
      '.unsub s1',
      '.call rooms.delete r1',
      '.bogus',
      '.exit',
      '.call echo after-exit',
    ].join('\n');
    const r = await runCli(['shell', t.url], { input });
    expect(r.code).to.equal(0);
    const out = r.stdout;
    expect(out).to.contain('[\n  {\n    "a": [\n      1,\n      2\n    ]\n  },\n  "two words",\n  "single quoted",\n  "word",\n  3\n]');
    expect(out).to.contain('+ rooms general {"name":"General"}');
    expect(out).to.match(/ready s1 \(rooms\)/);
    expect(out).to.match(/\+ users \w+ \{"username":"sam"/);
    expect(out).to.match(/Logged in as sam \(id \w+\)\./);
    expect(out).to.contain('stopped s1 (rooms)');
    expect(out).to.not.contain('after-exit');
    expect(r.stderr).to.contain("error [404]: Method 'no.such.method' not found");
    expect(r.stderr).to.contain("'rooms.delete' needs the password as a second check: run the shell in a terminal to be asked.");
    expect(r.stderr).to.contain("Unknown command '.bogus'");
  });
});
