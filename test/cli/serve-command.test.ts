import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, killChild, RawDdp, runCli, startServe, type ServeProcess } from './helpers.js';

describe('cli: ddp-guard serve (child processes)', function () {
  this.timeout(20_000);
  let dir: string;
  const running: ServeProcess[] = [];
  const sockets: RawDdp[] = [];

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-serve-'));
    mkdirSync(path.join(dir, 'app'));
    // A package.json makes the fixture's .js an ES module, as in a real application folder.
    writeFileSync(path.join(dir, 'app', 'package.json'), '{"type": "module"}\n');
    writeFileSync(
      path.join(dir, 'app', 'fixture.js'),
      `export default async (server) => {
  server.methods({ 'fixture.add'(a, b) { return { sum: a + b }; } });
};\n`,
    );
    writeFileSync(path.join(dir, 'app', 'no-default.js'), 'export const setup = () => {};\n');
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
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

  async function open(url: string): Promise<RawDdp> {
    const socket = await RawDdp.open(url);
    sockets.push(socket);
    return socket;
  }

  it('--port 0 prints the real URL and the database, answers DDP connect, and exits 0 on SIGTERM', async () => {
    const db = path.join(dir, 'serve.sqlite');
    const serve = await start(['--port', '0', '--db', db, '--log-level', 'warn']);
    expect(serve.url).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/websocket$/);
    expect(serve.url).to.not.contain(':0/');
    expect(serve.stdout()).to.contain(`SQLite file ${db}`);
    expect(serve.stdout().trim().split('\n')).to.have.length(1);

    const socket = await open(serve.url);
    const connected = await socket.connect();
    expect(connected['msg']).to.equal('connected');
    expect(connected['session']).to.be.a('string');
    socket.close();

    serve.child.kill('SIGTERM');
    expect(await serve.exited).to.equal(0);
    expect(serve.stderr()).to.contain('SIGTERM received, shutting down');
  });

  it('--app loads the module and its methods answer over a raw socket', async () => {
    const serve = await start(['--port', '0', '--db', 'memory', '--app', './app/fixture.js', '--log-level', 'silent']);
    const socket = await open(serve.url);
    await socket.connect();
    socket.send({ msg: 'method', method: 'fixture.add', params: [2, 3], id: 'm1' });
    const result = await socket.next((m) => m['msg'] === 'result' && m['id'] === 'm1');
    expect(result).to.deep.equal({ msg: 'result', id: 'm1', result: { sum: 5 } });
    serve.child.kill('SIGINT');
    expect(await serve.exited).to.equal(0);
  });

  it('--port abc exits 2 naming --port', async () => {
    const result = await runCli(['serve', '--port', 'abc', '--db', 'memory'], { cwd: dir });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('--port').and.to.contain('"abc"');
    expect(result.stdout).to.equal('');
  });

  it('a missing --app file or a module without a default function exits 2 with a clear message', async () => {
    const [missing, noDefault] = await Promise.all([
      runCli(['serve', '--port', '0', '--db', 'memory', '--app', './app/missing.js'], { cwd: dir }),
      runCli(['serve', '--port', '0', '--db', 'memory', '--app', './app/no-default.js'], { cwd: dir }),
    ]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain(`The app module ${path.join(dir, 'app', 'missing.js')} does not exist`);
    expect(noDefault.code).to.equal(2);
    expect(noDefault.stderr).to.contain('has no default export function');
  });

  it('a shared PostgreSQL database without a server secret is refused in one line naming DDP_GUARD_SECRET, exit 2', async () => {
    const result = await runCli(['serve', '--port', '0', '--db', 'postgres://postgres@127.0.0.1:5432/test?schema=never_created'], { cwd: dir });
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal('');
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).to.have.length(1);
    expect(lines[0]).to.contain('DDP_GUARD_SECRET').and.to.contain('same server secret');
  });

  it('reads the port from DDP_GUARD_PORT and names it when it is bad', async () => {
    const result = await runCli(['serve', '--db', 'memory'], { cwd: dir, env: cleanEnv({ DDP_GUARD_PORT: '99999' }) });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('DDP_GUARD_PORT');
  });
});
