/**
 * `ddp-guard record`: the transcript writer as a table (secrets become variables, generated
 * values wildcards), then the proxy in a child process between the ddp-guard Node client and a
 * server — login, a call, a subscription and a guarded call answered with TOTP — and the
 * transcript it writes replayed green by `script` and run by `load` against fresh servers with
 * other secrets. SockJS frames are unwrapped for the transcript.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createNodeClient } from '../../client/node.js';
import { twoFactorHandler } from '../../cli/remote.js';
import { toTranscript } from '../../cli/record/redact.js';
import { messagesOf } from '../../cli/record/sockjs.js';
import { parseTranscript } from '../../cli/script/parser.js';
import { readReport } from './load-support.js';
import { addUser, CLI, closedPort, enrolTotp, killChildren, PASSWORD, PASSWORD_DIGEST, removeTempFiles, runCli, startTestServer, tempFile, within, type TestServer } from './support.js';

describe('cli: record, the transcript writer', () => {
  it('turns passwords, codes and tokens into variables and generated values into wildcards', () => {
    const text = toTranscript(
      [
        { fromServer: false, message: { msg: 'connect', version: '1', support: ['1'] } },
        { fromServer: true, message: { msg: 'connected', session: 'S3cr3tSession' } },
        { fromServer: false, message: { msg: 'method', method: 'login', params: [{ totp: { login: { user: { username: 'alice' }, password: { digest: 'ab'.repeat(32), algorithm: 'sha-256' } }, code: '123456' } }], id: '1' } },
        { fromServer: true, message: { msg: 'result', id: '1', result: { id: 'u1', token: 'tok_abcdefghijklmnopqrstuvwxyz', tokenExpires: { $date: 1 } } } },
        { fromServer: false, message: { msg: 'method', method: 'rooms.delete', params: ['r1', { twoFactorCode: '654321', twoFactorMethod: 'totp' }], id: '2', randomSeed: 'seed' } },
        { fromServer: true, message: { msg: 'updated', methods: ['2'] } },
        { fromServer: true, message: { msg: 'result', id: '2', result: { at: { $date: 5 }, _id: 'aBcDeFgHjKmNpQrSt', n: 'a*b' } } },
        { fromServer: false, message: { msg: 'method', method: 'login', params: [{ resume: 'tok_abcdefghijklmnopqrstuvwxyz' }], id: '3' } },
        { fromServer: true, message: { msg: 'result', id: '4', error: { error: 'totp-required', reason: 'x', details: { method: 'totp' } } } },
        { fromServer: false, message: { msg: 'ping' } },
      ],
      'ws://x',
    );
    for (const secret of ['123456', '654321', 'ab'.repeat(32), 'tok_abcdefghijklmnopqrstuvwxyz', 'S3cr3tSession', 'alice', 'seed']) expect(text, secret).to.not.contain(secret);
    const steps = parseTranscript(text).map((s) => s.source);
    expect(steps).to.deep.equal([
      '> {"msg":"connect","version":"1","support":["1"]}',
      '< {"msg":"connected","session":"{{=session}}"}',
      '> {"msg":"method","method":"login","params":[{"totp":{"login":{"user":{"username":"{{username}}"},"password":"{{password}}"},"code":"{{totp:{{secret}}}}"}}],"id":"1"}',
      '< {"msg":"result","id":"1","result":{"id":"*","token":"{{=token}}"}}',
      '> {"msg":"method","method":"rooms.delete","params":["r1",{"twoFactorCode":"{{totp:{{secret}}}}","twoFactorMethod":"totp"}],"id":"2"}',
      '< {"msg":"result","id":"2","result":{"at":"*","_id":"*","n":"a\\\\*b"}}',
      '> {"msg":"method","method":"login","params":[{"resume":"{{token}}"}],"id":"3"}',
      '< {"msg":"result","id":"4","error":{"error":"totp-required"}}',
    ]);
  });

  it('unwraps SockJS frames both ways and ignores its open and heartbeat frames', () => {
    expect(messagesOf('a["{\\"msg\\":\\"connected\\",\\"session\\":\\"s\\"}"]', true)).to.deep.equal([{ msg: 'connected', session: 's' }]);
    expect(messagesOf('["{\\"msg\\":\\"connect\\"}"]', false)).to.deep.equal([{ msg: 'connect' }]);
    expect(messagesOf('o', true)).to.deep.equal([]);
    expect(messagesOf('h', true)).to.deep.equal([]);
    expect(messagesOf('{"msg":"ping"}', true)).to.deep.equal([{ msg: 'ping' }]);
  });
});

describe('cli: ddp-guard record between a real client and ddp-guard', function () {
  this.timeout(60_000);
  const servers: TestServer[] = [];
  after(async () => {
    killChildren();
    removeTempFiles();
    for (const s of servers) await s.close();
  });

  const serverWithAlice = async (): Promise<{ t: TestServer; secret: string }> => {
    const t = await startTestServer();
    servers.push(t);
    await addUser(t.server, 'alice');
    return { t, secret: await enrolTotp(t.url, 'alice') };
  };

  it('records login with 2FA, a call, a subscription and a guarded call; the transcript replays green against fresh servers', async () => {
    const { t, secret } = await serverWithAlice();
    const out = path.join(path.dirname(tempFile('placeholder', '')), 'session.ddp');
    const port = await closedPort();
    const child = spawn(process.execPath, [CLI, 'record', '--listen', `127.0.0.1:${port}`, '--target', t.url, '--out', out, '--once'], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await within(new Promise<void>((resolve) => child.stderr.on('data', () => /Recording:/.test(stderr) && resolve())), 10_000, 'the proxy to listen');

    const client = createNodeClient(`ws://127.0.0.1:${port}/websocket`, { reconnect: false, onTwoFactorRequired: twoFactorHandler({ totpSecret: secret }) });
    await client.connect();
    const login = await client.loginWithPassword('alice', PASSWORD);
    expect(await client.call('echo', 'hi')).to.deep.equal(['hi']);
    const rooms = client.subscribe('rooms');
    await rooms.ready;
    expect(await client.call('rooms.delete', 'general')).to.deep.equal({ deleted: 'general' });
    client.close();
    expect(await within(exited, 10_000, 'record to end'), stderr).to.equal(0);

    expect(stdout).to.match(/^→ 1 \{"msg":"connect"/m).and.match(/^← 1 \{"msg":"connected"/m).and.match(/^← 1 \{"msg":"ready","subs":\[/m);
    const text = fs.readFileSync(out, 'utf8');
    for (const secretText of [PASSWORD, PASSWORD_DIGEST, secret, login.token]) expect(text).to.not.contain(secretText);
    expect(text).to.contain('"{{password}}"').and.contain('{{totp:{{secret}}}}').and.contain('"{{=token}}"');

    // Replayed by script against a fresh server where alice has another authenticator.
    const fresh = await serverWithAlice();
    const replay = await runCli(['script', out, '--url', fresh.t.url, '--var', 'username=alice', '--var', `password=${PASSWORD}`, '--var', `secret=${fresh.secret}`], { timeoutMs: 20_000 });
    expect(replay.code, replay.stdout + replay.stderr).to.equal(0);
    expect(replay.stdout).to.match(/\d+ passed, 0 failed/);

    // Run by load, the user from a users file.
    const third = await serverWithAlice();
    const users = tempFile('users.csv', `alice,${PASSWORD},${third.secret}\n`);
    const json = tempFile('record-load.json', '');
    const load = await runCli(['load', third.t.url, '--script', out, '--users', users, '--vus', '1', '--duration', '1s', '--json', json], { timeoutMs: 20_000 });
    expect(load.code, load.stderr).to.equal(0);
    const report = readReport(json);
    expect(report.totals.errors, JSON.stringify(report.errorsByCode)).to.equal(0);
    expect(report.figures.find((f) => f.name === 'rooms.delete')?.count).to.be.at.least(1);
    // The recorded login's totp-required is an answer the transcript expects, counted as such.
    expect(report.figures.find((f) => f.name === 'login')?.count).to.be.at.least(2);
  });

  it('exits 5 with one line when the target is unreachable, writing nothing', async () => {
    const out = path.join(path.dirname(tempFile('placeholder2', '')), 'never.ddp');
    const r = await runCli(['record', '--listen', `127.0.0.1:${await closedPort()}`, '--target', `ws://127.0.0.1:${await closedPort()}/websocket`, '--out', out]);
    expect(r.code).to.equal(5);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/websocket/);
    expect(fs.existsSync(out)).to.equal(false);
  });
});
