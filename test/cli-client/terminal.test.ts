/**
 * The prompts of `call` and `shell` in a real pseudo-terminal (util-linux `script -qfec`): the
 * CLI sees a TTY, asks for the code, and the test types it as a person would.
 */
import { expect } from 'chai';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { addUser, enrolTotp, hasScriptPty, killChildren, PASSWORD, runInTerminal, startTestServer, type TestServer } from './support.js';
import { skipBecause } from '../helpers/skip.js';

describe('cli: prompts in a terminal', function () {
  let t: TestServer;

  before(async function () {
    if (!hasScriptPty()) skipBecause(this, 'util-linux `script` is needed for a pseudo-terminal, and is missing');
    t = await startTestServer();
    for (const name of ['carol', 'dave', 'erin']) await addUser(t.server, name);
  });

  after(async () => {
    killChildren();
    await t?.close();
  });

  it('call asks for the password fallback on a TTY, then prints the result', async () => {
    const run = runInTerminal(['call', t.url, 'rooms.delete', 'r9', '--user', 'carol', '--password', PASSWORD]);
    await run.waitFor(/Enter your password to confirm: $/);
    run.type(`${PASSWORD}\r`);
    await run.waitFor(/"deleted"/);
    expect(run.output(), 'the password is not echoed').to.not.contain(PASSWORD);
    const code = await Promise.race([run.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no exit; terminal: ${run.output()}`)), 8_000))]);
    expect(code, run.output()).to.equal(0);
    expect(run.output()).to.match(/\{\s+"deleted": "r9"\s+\}/);
  });

  it('call asks for the authenticator code once: the login\'s code also vouches for the guarded call', async () => {
    const secret = await enrolTotp(t.url, 'dave');
    const run = runInTerminal(['call', t.url, 'rooms.delete', 'r10', '--user', 'dave', '--password', PASSWORD]);
    await run.waitFor(/Enter the code from your authenticator app \(or a backup code\): $/);
    // A wrong code first: asked again, saying so.
    run.type('000000\r');
    await run.waitFor(/That code was not accepted\. Enter the code from your authenticator app/);
    run.type(`${generateTotpCode(secret, Date.now())}\r`);
    const code = await Promise.race([run.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no exit; terminal: ${run.output()}`)), 8_000))]);
    expect(code, run.output()).to.equal(0);
    expect(run.output()).to.match(/"deleted": "r10"/);
    expect(run.output().match(/Enter the code from your authenticator app/g), run.output()).to.have.length(2);
  });

  it('shell: prompt, .login, .call with a code prompt, live documents of .sub, .exit', async () => {
    const run = runInTerminal(['shell', `http://127.0.0.1:${t.port}`]);
    await run.waitFor(/Type \.help for the commands\.\s*\r?\n?ddp> $/);
    run.type('.login erin "correct horse battery staple"\r');
    await run.waitFor(/Logged in as erin \(id \w+\)\.[^]*ddp> $/);
    run.type('.sub rooms\r');
    await run.waitFor(/\+ rooms general \{"name":"General"\}[^]*ready s\d+ \(rooms\)/);
    run.type('.call rooms.delete {"id": 7}\r');
    await run.waitFor(/Enter your password to confirm: $/);
    run.type(`${PASSWORD}\r`);
    await run.waitFor(/"deleted": \{\s+"id": 7\s+\}[^]*ddp> $/);
    run.type('.exit\r');
    const code = await Promise.race([run.exited, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no exit; terminal: ${run.output()}`)), 8_000))]);
    expect(code, run.output()).to.equal(0);
  });
});
