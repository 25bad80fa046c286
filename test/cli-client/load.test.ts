/**
 * `ddp-guard load`: thresholds, users files and the arrival schedule as tables; then the
 * command in a child process against the bench's floor server (a DDP server that is not
 * ddp-guard) and against ddp-guard with per-user logins and TOTP, in both models, with
 * thresholds deciding the exit status, progress lines, Ctrl-C, and each bad input as one line
 * with nothing written. Runs are 2 s: the machine is shared.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { arrivalsBy, arrivalTime } from '../../cli/load/driver.js';
import { parseThreshold, ThresholdSyntaxError } from '../../cli/load/thresholds.js';
import { parseUsers, UsersFileError } from '../../cli/load/users.js';
import { ECHO_TRANSCRIPT, readReport, startFloor, type FloorServer } from './load-support.js';
import { addUser, CLI, closedPort, enrolTotp, hasScriptPty, killChildren, PASSWORD, removeTempFiles, runCli, runInTerminal, startTestServer, tempFile, within, type TestServer } from './support.js';

describe('cli: load thresholds, users and schedule', () => {
  it('parses thresholds with names, units and operators, and refuses what does not parse', () => {
    expect(parseThreshold('p99<50ms')).to.include({ name: undefined, op: '<', limit: 50 });
    expect(parseThreshold('p99.9 <= 1.5s')).to.deep.include({ metric: { kind: 'percentile', p: 99.9 }, op: '<=', limit: 1500 });
    expect(parseThreshold('errors<0.1%')).to.deep.include({ metric: { kind: 'error-rate' }, limit: 0.001 });
    expect(parseThreshold('errors<=3')).to.deep.include({ metric: { kind: 'error-count' }, limit: 3 });
    expect(parseThreshold('2fa:enable:p95<200')).to.include({ name: '2fa:enable', limit: 200 });
    expect(parseThreshold('calls/s>=100')).to.deep.include({ metric: { kind: 'rate' }, op: '>=', limit: 100 });
    for (const bad of ['p99', 'p99<', 'p99<fast', 'p99<5kg', 'p101<5ms', 'latency<5ms', 'errors<1ms', 'echo:calls/s>1']) {
      expect(() => parseThreshold(bad), bad).to.throw(ThresholdSyntaxError);
    }
  });

  it('reads users with or without a header, a token column, and names a line with missing columns', () => {
    expect(parseUsers('alice,pw1,JBSWY3DPEHPK3PXP\nbob,pw2\n')).to.deep.equal([
      { username: 'alice', password: 'pw1', totpSecret: 'JBSWY3DPEHPK3PXP' },
      { username: 'bob', password: 'pw2' },
    ]);
    expect(parseUsers('username,token\ncarol,abc\n')).to.deep.equal([{ username: 'carol', token: 'abc' }]);
    expect(parseUsers('"a,b",pw\n')).to.deep.equal([{ username: 'a,b', password: 'pw' }]);
    expect(() => parseUsers('alice,pw\nbob\n')).to.throw(UsersFileError, /line 2: expected a username and a password/);
    expect(() => parseUsers('\n')).to.throw(UsersFileError, /no users/);
  });

  it('schedules arrivals at the rate, ramped linearly, and inverts the schedule exactly', () => {
    expect(arrivalsBy(1000, 50, 0)).to.equal(50);
    expect(arrivalsBy(1000, 50, 2000)).to.equal(12); // half way up the ramp: a quarter of the area
    expect(arrivalsBy(3000, 50, 2000)).to.equal(100);
    for (const k of [1, 7, 50, 51, 120]) {
      const t = arrivalTime(k, 50, 2000);
      expect(arrivalsBy(t + 1e-6, 50, 2000), `arrival ${k}`).to.equal(k);
    }
  });
});

describe('cli: ddp-guard load against the floor server (not ddp-guard)', function () {
  this.timeout(30_000);
  let floor: FloorServer;
  let transcript: string;
  before(async () => {
    floor = await startFloor();
    transcript = tempFile('echo.ddp', ECHO_TRANSCRIPT);
  });
  after(() => {
    floor.close();
    killChildren();
    removeTempFiles();
  });

  it('runs the transcript with closed VUs: figures per method and subscription, thresholds that hold, plain progress lines, a JSON report', async () => {
    const json = path.join(path.dirname(transcript), 'closed.json');
    const r = await runCli(['load', floor.url, '--script', transcript, '--vus', '4', '--duration', '2s', '--threshold', 'errors<0.1%', '--threshold', 'echo:p99<2s', '--threshold', 'calls/s>1', '--json', json], { timeoutMs: 20_000 });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const progress = r.stderr.split('\n').filter((l) => /^\s*\d+(\.\d+)?s\s+VUs\s+\d+\s+calls\/s\s+\d+\s+p50 .* p99 .* errors \d+$/.test(l));
    expect(progress.length, r.stderr).to.be.within(2, 4);
    expect(r.stdout).to.match(/✓ threshold errors<0\.1%/).and.match(/method echo\s+\d+\s+0/).and.match(/sub rooms \(ready\)/);
    const report = readReport(json);
    const names = report.figures.map((f) => `${f.kind} ${f.name}`);
    expect(names).to.deep.equal(['connect connect', 'method echo', 'sub rooms']);
    const echo = report.figures.find((f) => f.name === 'echo')!;
    expect(echo.count).to.be.greaterThan(10);
    expect(echo.count, 'two calls per subscription, give or take the iterations cut at the end').to.be.closeTo(2 * report.figures.find((f) => f.name === 'rooms')!.count, 8);
    expect(echo.p50).to.be.greaterThan(0).and.at.most(echo.p99);
    expect(report.totals.errors).to.equal(0);
    expect(report.timeline.length).to.be.within(2, 3);
    expect(report.thresholds.every((t) => t.ok)).to.equal(true);
  });

  it('on a terminal, the progress line is rewritten in place once a second', async function () {
    if (!hasScriptPty()) this.skip();
    const run = runInTerminal(['load', floor.url, '--script', transcript, '--vus', '2', '--duration', '3s']);
    expect(await within(run.exited, 20_000, 'the run in a terminal')).to.equal(0);
    const rewrites = run.output().match(/\r\x1b\[K\s*\d+s\s+VUs\s+\d+\s+calls\/s/g) ?? [];
    expect(rewrites.length, JSON.stringify(run.output())).to.be.within(2, 4);
    expect(run.output()).to.match(/^Done: /m);
  });

  it('exits 1 when a threshold does not hold, after printing the summary', async () => {
    const r = await runCli(['load', floor.url, '--script', transcript, '--vus', '2', '--duration', '1s', '--threshold', 'p50<0.001ms', '--threshold', 'errors<1%'], { timeoutMs: 20_000 });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/✗ threshold p50<0\.001ms/).and.match(/✓ threshold errors<1%/);
    expect(r.stderr).to.match(/1 threshold did not hold: p50<0\.001ms/);
  });

  it('open model: arrivals at the rate whatever the server does', async () => {
    const json = path.join(path.dirname(transcript), 'open.json');
    const r = await runCli(['load', floor.url, '--script', transcript, '--rate', '40/s', '--vus', '10', '--duration', '2s', '--json', json], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).to.equal(0);
    const report = readReport(json);
    expect(report.model).to.deep.equal({ kind: 'open', rate: 40, maxVus: 10 });
    const rooms = report.figures.find((f) => f.name === 'rooms')!;
    expect(rooms.count, 'about 80 iterations in 2 s').to.be.within(70, 81);
  });

  it('Ctrl-C stops cleanly: the summary is printed, the reports are written, exit 130', async () => {
    const json = path.join(path.dirname(transcript), 'interrupted.json');
    const child = spawn(process.execPath, [CLI, 'load', floor.url, '--script', transcript, '--vus', '2', '--duration', '60s', '--json', json], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await within(new Promise<void>((resolve) => child.stderr.on('data', () => /calls\/s/.test(stderr) && resolve())), 10_000, 'a progress line');
    child.kill('SIGINT');
    const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 10_000, 'the run to stop');
    expect(code, stderr).to.equal(130);
    expect(stdout).to.match(/^Stopped early: /m).and.match(/method echo/);
    const report = readReport(json);
    expect(report.interrupted).to.equal(true);
    expect(report.durationMs).to.be.below(10_000);
  });
});

describe('cli: ddp-guard load against ddp-guard, each virtual user with its own account and TOTP', function () {
  this.timeout(60_000);
  let t: TestServer;
  let users: string;
  before(async () => {
    t = await startTestServer();
    const lines: string[] = [];
    for (const name of ['vu1', 'vu2', 'vu3']) {
      await addUser(t.server, name);
      lines.push(name === 'vu3' ? `${name},${PASSWORD}` : `${name},${PASSWORD},${await enrolTotp(t.url, name)}`);
    }
    users = tempFile('users.csv', `username,password,totpSecret\n${lines.join('\n')}\n`);
  });
  after(async () => {
    killChildren();
    removeTempFiles();
    await t.close();
  });

  it('a transcript logs each VU in as its user; totp-required (login, guarded call) is answered with a computed code', async () => {
    const transcript = tempFile('guarded.ddp', `> {"msg":"connect","version":"1","support":["1"]}
< {"msg":"connected"}
> {"msg":"method","method":"login","params":[{"user":{"username":"{{username}}"},"password":"{{password}}"}],"id":"1"}
< {"msg":"result","id":"1","result":{"id":"*","token":"*"}}
> {"msg":"method","method":"echo","params":["{{username}}"],"id":"2"}
< {"msg":"result","id":"2","result":["{{username}}"]}
> {"msg":"method","method":"rooms.delete","params":["r1"],"id":"3"}
< {"msg":"result","id":"3"}
sleep 5000
`);
    const json = tempFile('r.json', '');
    const r = await runCli(['load', t.url, '--script', transcript, '--users', users, '--vus', '3', '--duration', '2s', '--json', json, '--threshold', 'login:errors<1%'], { timeoutMs: 30_000 });
    const report = readReport(json);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const fig = (name: string) => report.figures.find((f) => f.name === name)!;
    expect(fig('login')).to.include({ kind: 'login', count: 3, errors: 0 });
    expect(fig('echo')).to.include({ count: 3, errors: 0 });
    // vu1 and vu2 pass the guard with a computed code; vu3 has no secret in the file, so its
    // totp-required answer stands and is counted.
    expect(fig('rooms.delete')).to.include({ count: 3, errors: 1 });
    expect(report.errorsByCode).to.deep.equal([{ code: 'totp-required', count: 1 }]);
  });

  it('a scenario module gets a connected, logged-in client per VU', async () => {
    const scenario = tempFile('scenario.mjs', `export default async function ({ call, subscribe, vu }) {
  const [echoed] = await call('echo', vu.username);
  if (echoed !== vu.username) throw new Error('wrong echo');
  const rooms = await subscribe('rooms');
  rooms.stop();
  await call('rooms.delete', 'r' + vu.id);
}
`);
    const json = tempFile('s.json', '');
    const twoFactorUsers = tempFile('two.csv', fs.readFileSync(users, 'utf8').split('\n').slice(0, 3).join('\n'));
    const r = await runCli(['load', t.url, '--scenario', scenario, '--users', twoFactorUsers, '--vus', '2', '--duration', '2s', '--json', json, '--threshold', 'errors<1%'], { timeoutMs: 30_000 });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const report = readReport(json);
    const fig = (name: string) => report.figures.find((f) => f.name === name)!;
    expect(fig('login')).to.include({ count: 2, errors: 0 });
    expect(fig('echo').count).to.be.greaterThan(2);
    expect(fig('rooms').count).to.be.greaterThan(2);
    expect(fig('rooms.delete').errors).to.equal(0);
  });
});

describe('cli: ddp-guard load, bad input: one line, a non-zero exit, nothing written', function () {
  this.timeout(30_000);
  let floor: FloorServer;
  let dir: string;
  let transcript: string;
  before(async () => {
    floor = await startFloor();
    transcript = tempFile('ok.ddp', ECHO_TRANSCRIPT);
    dir = path.dirname(transcript);
  });
  after(() => {
    floor.close();
    killChildren();
    removeTempFiles();
  });

  const expectOneLine = async (args: string[], code: number, pattern: RegExp): Promise<void> => {
    const json = path.join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    const r = await runCli(['load', ...args, '--json', json], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).to.equal(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(pattern);
    expect(r.stdout).to.equal('');
    expect(fs.existsSync(json), 'no report').to.equal(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  };

  it('an unreachable target', async () => {
    await expectOneLine([`ws://127.0.0.1:${await closedPort()}/websocket`, '--script', transcript], 5, /^ddp-guard: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/websocket \(.*ECONNREFUSED.*\)/);
  });

  it('a bad transcript line, with its number and what was expected', async () => {
    const bad = tempFile('bad.ddp', '> {"msg":"connect"}\n\n< {"msg": connected}\n');
    await expectOneLine([floor.url, '--script', bad], 2, /bad\.ddp:3: the JSON after '<' does not parse .*; nothing was run\.$/);
  });

  it('a users file with missing columns', async () => {
    const csv = tempFile('users.csv', 'alice,pw\nbob\n');
    await expectOneLine([floor.url, '--script', transcript, '--users', csv, '--vus', '1'], 2, /users\.csv: line 2: expected a username and a password/);
  });

  it('a threshold that does not parse', async () => {
    await expectOneLine([floor.url, '--script', transcript, '--threshold', 'p99 under 50ms'], 2, /--threshold: the threshold 'p99 under 50ms' does not parse: expected \[NAME:\]METRIC OP VALUE/);
  });

  it('more virtual users than users', async () => {
    const csv = tempFile('two.csv', 'alice,pw\nbob,pw\n');
    await expectOneLine([floor.url, '--script', transcript, '--users', csv, '--vus', '3'], 2, /3 virtual users but 2 accounts in .*two\.csv/);
  });

  it('neither --script nor --scenario, and a bad duration', async () => {
    await expectOneLine([floor.url], 2, /Give either --script <transcript\.ddp> or --scenario <module\.mjs>\./);
    await expectOneLine([floor.url, '--script', transcript, '--duration', 'soon'], 2, /--duration takes a duration such as 30s/);
  });
});

describe('cli: ddp-guard load counts latency from the intended start (no coordinated omission)', function () {
  this.timeout(30_000);
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    // A DDP server that stalls for 1 s on its first call, then answers at once.
    let stalled = false;
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { msg: string; id?: string };
        if (m.msg === 'connect') ws.send(JSON.stringify({ msg: 'connected', session: 's' }));
        if (m.msg !== 'method') return;
        const answer = (): void => ws.send(JSON.stringify({ msg: 'result', id: m.id, result: 1 }));
        if (stalled) answer();
        else {
          stalled = true;
          setTimeout(answer, 1000);
        }
      });
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/websocket`;
  });
  after(() => {
    wss.close();
    killChildren();
    removeTempFiles();
  });

  it('an open-model run through a 1-s stall reports the waits of the arrivals queued behind it', async () => {
    const transcript = tempFile('one.ddp', '> {"msg":"connect","version":"1","support":["1"]}\n< {"msg":"connected"}\n> {"msg":"method","method":"m","params":[],"id":"1"}\n< {"msg":"result","id":"1"}\n');
    const json = path.join(path.dirname(transcript), 'co.json');
    const r = await runCli(['load', url, '--script', transcript, '--rate', '20', '--vus', '1', '--duration', '2s', '--json', json], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).to.equal(0);
    const m = readReport(json).figures.find((f) => f.name === 'm')!;
    // About 20 arrivals came during the stall; each waited for the one virtual user.
    expect(m.p50, 'the median call waited for the stall').to.be.greaterThan(100);
    expect(m.max).to.be.greaterThan(900);
  });
});
