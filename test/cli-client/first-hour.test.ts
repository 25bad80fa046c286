/**
 * What a newcomer runs into with `call` and `shell` (issue 17, "The first hour"): through child
 * processes, and through a real pseudo-terminal where a person would type (util-linux
 * `script`, as in terminal.test.ts). A password left off the command line is asked for
 * without echo; one authenticator code signs in and passes the guarded call; Ctrl-C at the
 * shell's code prompt cancels it and returns to `ddp>`; malformed JSON is an error; codes stay
 * text for the 2FA methods; a used code and a lock-out say how long to wait.
 */
import { expect } from 'chai';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { addUser, enrolTotp, hasScriptPty, killChildren, PASSWORD, runCli, runInProcess, runInTerminal, startTestServer, type TerminalRun, type TestServer } from './support.js';
import { skipBecause } from '../helpers/skip.js';

function exitOf(run: TerminalRun): Promise<number | null> {
  return Promise.race([run.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no exit; terminal: ${run.output()}`)), 8_000))]);
}

describe('cli: the first hour with call and shell', function () {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    for (const name of ['gina', 'hank', 'ivy', 'jack', 'kim', 'lena', 'mona', 'nina']) await addUser(t.server, name);
  });

  after(async () => {
    killChildren();
    await t?.close();
  });

  describe('without a terminal', () => {
    it('call --user --password --code on a guarded method works for a TOTP user: the code signs in and vouches for the call', async () => {
      const secret = await enrolTotp(t.url, 'gina');
      const r = await runCli(['call', t.url, 'rooms.delete', 'r1', '--user', 'gina', '--password', PASSWORD, '--code', generateTotpCode(secret, Date.now())]);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.equal({ deleted: 'r1' });
    });

    it('an argument that starts like JSON but is not JSON is an error (exit 2), not a string', async () => {
      for (const bad of ['{"roomId": general}', '[1, 2', '"unclosed']) {
        const r = await runInProcess(['call', t.url, 'echo', bad]);
        expect(r.code, bad).to.equal(2);
        expect(r.stderr).to.contain('parameter 1 starts like JSON but is not valid JSON');
      }
      // Plain words are still text, numbers still numbers.
      const ok = await runCli(['call', t.url, 'echo', 'general', '42', '{"a":1}']);
      expect(JSON.parse(ok.stdout)).to.deep.equal(['general', 42, { a: 1 }]);
    });

    it('enrols an authenticator from the command line: 2fa:enable, then 2fa:validateTempToken <digits> (sent as text)', async () => {
      // Adding a factor proves the one the user has: with none yet, the password.
      const enable = await runCli(['call', t.url, '2fa:enable', '--user', 'hank', '--password', PASSWORD, '--method', 'password', '--code', PASSWORD]);
      expect(enable.code, enable.stderr).to.equal(0);
      const { secret } = JSON.parse(enable.stdout) as { secret: string };
      // A code without a leading zero, as a person types it, would be the number 540583 in JSON.
      let now = Date.now();
      while (generateTotpCode(secret, now).startsWith('0')) now -= 30_000;
      const confirm = await runCli(['call', t.url, '2fa:validateTempToken', generateTotpCode(secret, now), '--user', 'hank', '--password', PASSWORD]);
      expect(confirm.stderr).to.equal('');
      expect(confirm.code).to.equal(0);
      expect((JSON.parse(confirm.stdout) as { codes: string[] }).codes).to.have.length(12);
    });

    it('a lock-out reads "try again in …", not milliseconds', async () => {
      const wrong = ['--user', 'ivy', '--password', PASSWORD, '--method', 'password', '--code', 'not the password'];
      let last = { code: 0 as number | null, stdout: '', stderr: '' };
      // The password fallback counts on the account's password budget: the 10th wrong one locks.
      for (let i = 0; i < 10; i++) last = await runCli(['call', t.url, 'rooms.delete', 'r2', ...wrong]);
      expect(last.code).to.equal(1);
      expect(last.stderr).to.contain('error [totp-max-attempts]');
      expect(last.stderr).to.match(/Too many wrong codes: try again in (1 min|[1-5]?[0-9] s)\./);
    });
  });

  describe('in a terminal', function () {
    before(function () {
      if (!hasScriptPty()) skipBecause(this, 'util-linux `script` is needed for a pseudo-terminal, and is missing');
    });

    it('call without --password asks for it without echo', async () => {
      const run = runInTerminal(['call', t.url, 'echo', 'hi', '--user', 'jack']);
      await run.waitFor(/Password for jack: $/);
      run.type(`${PASSWORD}\r`);
      expect(await exitOf(run), run.output()).to.equal(0);
      expect(run.output()).to.match(/"hi"/);
      expect(run.output(), 'the password is not echoed').to.not.contain(PASSWORD);
    });

    it('a code already used says so and how long until the next one', async () => {
      const secret = await enrolTotp(t.url, 'kim');
      const used = generateTotpCode(secret, Date.now());
      const first = await runCli(['call', t.url, 'echo', 'x', '--user', 'kim', '--password', PASSWORD, '--code', used]);
      expect(first.code, first.stderr).to.equal(0);
      // The same code again for the next login: refused as used, and the prompt says to wait.
      const run = runInTerminal(['call', t.url, 'echo', 'y', '--user', 'kim', '--password', PASSWORD]);
      await run.waitFor(/authenticator app \(or a backup code\): $/);
      run.type(`${used}\r`);
      // The wait, or (when the step turned in between) the word that the next code already shows.
      await run.waitFor(/That code was already used: (wait for the next code from your app in \d+ s|enter the next code your app shows)\. Enter the code/);
      run.type('\u0003'); // Ctrl-C: give up
      expect(await exitOf(run)).to.not.equal(0);
    });

    it('shell: --user without --password asks; .login <user> asks; Ctrl-C at the code prompt returns to ddp>', async () => {
      const run = runInTerminal(['shell', t.url, '--user', 'lena']);
      await run.waitFor(/Password for lena: $/);
      run.type(`${PASSWORD}\r`);
      await run.waitFor(/Connected to [^\n]* as lena\. Type \.help for the commands\.[^]*ddp> $/);
      run.type('.call rooms.delete general\r');
      await run.waitFor(/Enter your password to confirm: $/);
      run.type('\u0003');
      await run.waitFor(/Cancelled\.[^]*ddp> $/);
      // The shell still reads commands.
      run.type('.call echo still-here\r');
      await run.waitFor(/"still-here"[^]*ddp> $/);
      run.type('.login mona\r');
      await run.waitFor(/Password for mona: $/);
      run.type(`${PASSWORD}\r`);
      await run.waitFor(/Logged in as mona \(id \w+\)\.[^]*ddp> $/);
      // An authenticator code prompt (echoed, unlike the password): Ctrl-C cancels it too.
      await enrolTotp(t.url, 'nina');
      run.type(`.login nina "${PASSWORD}"\r`);
      await run.waitFor(/Enter the code from your authenticator app \(or a backup code\): $/);
      run.type('12\u0003');
      await run.waitFor(/authenticator app \(or a backup code\): 12[^]*Cancelled\.[^]*ddp> $/);
      run.type('.call echo after-cancel\r');
      await run.waitFor(/"after-cancel"[^]*ddp> $/);
      run.type('.exit\r');
      expect(await exitOf(run), run.output()).to.equal(0);
      expect(run.output().replace(`.login nina "${PASSWORD}"`, ''), 'no password echoed').to.not.contain(PASSWORD);
    });
  });
});
