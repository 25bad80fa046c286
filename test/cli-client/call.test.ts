/**
 * `ddp-guard call` in a child process against a real ddp-guard server: EJSON parameters and
 * results, the three address forms, method errors, the two-factor answers (`--code` with the
 * password fallback, a wrong code, `--totp-secret`), the missing-code message, and the exit
 * statuses (1 method error, 2 usage, 5 connection).
 */
import { expect } from 'chai';
import { addUser, closedPort, enrolTotp, killChildren, PASSWORD, PASSWORD_DIGEST, runCli, runInProcess, startTestServer, type TestServer } from './support.js';

describe('cli: ddp-guard call', () => {
  let t: TestServer;
  let totpSecret: string;

  before(async () => {
    t = await startTestServer();
    for (const name of ['alice', 'bob', 'tom']) await addUser(t.server, name);
    totpSecret = await enrolTotp(t.url, 'tom');
  });

  after(async () => {
    killChildren();
    await t?.close();
  });

  it('prints the result as indented EJSON; a Date parameter round-trips, bare words are strings', async () => {
    const r = await runCli(['call', t.url, 'echo', '{"$date":1700000000000}', 'hello', '42', '"42"', '{"n":[1,null]}']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal([{ $date: 1700000000000 }, 'hello', 42, '42', { n: [1, null] }]);
    expect(r.stdout).to.match(/^\[\n {2}\{\n {4}"\$date": 1700000000000\n {2}\},\n {2}"hello",/);
  });

  it('accepts ws://host:port and http://host:port as the address', async () => {
    const [ws, http] = await Promise.all([
      runCli(['call', `ws://127.0.0.1:${t.port}`, 'echo', 'a']),
      runCli(['call', `http://127.0.0.1:${t.port}/`, 'echo', 'b']),
    ]);
    expect(ws).to.deep.equal({ code: 0, stdout: '[\n  "a"\n]\n', stderr: '' });
    expect(http).to.deep.equal({ code: 0, stdout: '[\n  "b"\n]\n', stderr: '' });
  });

  it('exits 1 with "error [404]: reason" on stderr for an unknown method', async () => {
    const r = await runCli(['call', t.url, 'no.such.method']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain("error [404]: Method 'no.such.method' not found");
  });

  it('answers the password fallback with --code <sha-256 hex> --method password', async () => {
    const r = await runCli(['call', t.url, 'rooms.delete', 'r1', '--user', 'alice', '--password', PASSWORD, '--code', PASSWORD_DIGEST, '--method', 'password']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ deleted: 'r1' });
  });

  it('fails with totp-invalid and the details when --code is wrong (the code is used once)', async () => {
    const r = await runCli(['call', t.url, 'rooms.delete', 'r2', '--user', 'bob', '--password', PASSWORD, '--code', '0'.repeat(64), '--method', 'password']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain('error [totp-invalid]: TOTP Invalid');
    expect(r.stderr).to.match(/details: \{\n {2}"method": "password"/);
  });

  it('without a code and without a terminal, says what to pass (exit 2)', async () => {
    const r = await runCli(['call', t.url, 'rooms.delete', 'r3', '--user', 'bob', '--password', PASSWORD]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("'rooms.delete' needs the password as a second check: pass --code <code>");
  });

  it('computes TOTP codes from --totp-secret, for the login and for the guarded call', async () => {
    const r = await runCli(['call', t.url, 'rooms.delete', 'r4', '--user', 'tom', '--password', PASSWORD, '--totp-secret', totpSecret]);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ deleted: 'r4' });
  });

  it('exits 5 when nothing listens at the address', async () => {
    const port = await closedPort();
    const r = await runCli(['call', `ws://127.0.0.1:${port}/websocket`, 'echo', '1', '--timeout', '3000']);
    expect(r.code).to.equal(5);
    expect(r.stderr).to.contain(`Cannot connect to ws://127.0.0.1:${port}/websocket`);
  });

  it('exits 2 for a bad option or address, before connecting', async () => {
    // In this process: these fail before any connection, so no child is needed.
    const method = await runInProcess(['call', t.url, 'echo', '--method', 'sms']);
    const address = await runInProcess(['call', 'ftp://127.0.0.1:1', 'echo']);
    const ejson = await runInProcess(['call', t.url, 'echo', '{"$date":"soon"}']);
    expect([method.code, address.code, ejson.code]).to.deep.equal([2, 2, 2]);
    expect(method.stderr).to.contain('--method must be totp, email or password');
    expect(address.stderr).to.contain("'ftp://127.0.0.1:1' is not a server address");
    expect(ejson.stderr).to.contain('parameter 1 is not valid EJSON');
  });
});
