/**
 * At the open-file limit: `ddp-guard serve` under `ulimit -n 150` (a real child process, the
 * memory store) takes DDP connections until its cap, then refuses new ones with a prompt close,
 * counts them in a metric, logs one line per burst, says so on `/readyz` (on the metrics
 * listener), keeps serving the connections it holds, and takes connections again once some
 * close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { CLI, cleanEnv, killChild } from '../cli/helpers.js';
import { freePort } from '../helpers/ports.js';
import { descriptorReserve, openDescriptorsSync } from '../../server/transport/descriptor-limit.js';
import { openSync, closeSync, readdirSync } from 'node:fs';

const LIMIT = 150;
/** dist/server/transport/descriptor-limit.js, next to this compiled test. */
const GUARD_MODULE = new URL('../../server/transport/descriptor-limit.js', import.meta.url).href;
const REFUSING = 'at the open-file limit: refusing new connections';

/** A DDP connection that completed its handshake. */
class Held {
  private readonly waiting = new Map<string, (m: Record<string, unknown>) => void>();
  private nextId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>;
      if (m.msg === 'ping') ws.send(JSON.stringify({ msg: 'pong' }));
      if (m.msg === 'result' && typeof m.id === 'string') this.waiting.get(m.id)?.(m);
    });
  }

  /** Calls a method and resolves with its `result` message. */
  call(method: string): Promise<Record<string, unknown>> {
    const id = String(this.nextId++);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ msg: 'method', method, params: [], id }));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/**
 * Opens a DDP connection: a `Held` one once `connected`, or how it was refused (`closed before
 * open`: the TCP connection was closed without an HTTP answer; an HTTP status otherwise).
 */
function attempt(url: string): Promise<Held | { refused: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let settled = false;
    const refused = (how: string): void => {
      if (settled) return;
      settled = true;
      ws.terminate();
      resolve({ refused: how });
    };
    ws.once('unexpected-response', (_req, res) => refused(`HTTP ${res.statusCode ?? 0}`));
    ws.once('error', () => refused('closed before open'));
    ws.once('close', () => refused('closed before open'));
    ws.once('open', () => {
      ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
      const onMessage = (data: WebSocket.RawData): void => {
        const m = JSON.parse(String(data)) as Record<string, unknown>;
        if (m.server_id !== undefined || settled) return; // the server's first line, before `connected`
        ws.off('message', onMessage);
        settled = true;
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => undefined);
        if (m.msg === 'connected') resolve(new Held(ws));
        else resolve({ refused: `answered ${String(m.msg)}` });
      };
      ws.on('message', onMessage);
    });
  });
}

describe('the open-file limit (ulimit -n 150)', function () {
  this.timeout(60_000);
  let dir: string;
  let child: ChildProcess | undefined;
  let url: string;
  let metricsPort: number;
  let stderr = '';
  const held: Held[] = [];
  let refusedSeen = 0;

  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
    return { status: res.status, text: await res.text() };
  };
  const refusedMetric = async (): Promise<number> => {
    const m = /^ddp_guard_connections_refused_total (\d+)$/m.exec((await get('/metrics')).text);
    expect(m, 'the metric is exported').to.not.equal(null);
    return Number(m![1]);
  };
  const refusalLogLines = (): number => stderr.split('\n').filter((l) => l.includes(REFUSING)).length;
  /** Opens connections until one is refused; returns how many were taken. */
  const fill = async (): Promise<number> => {
    for (let taken = 0; taken <= LIMIT; taken++) {
      const r = await attempt(url);
      if (r instanceof Held) held.push(r);
      else {
        expect(r.refused).to.equal('closed before open');
        refusedSeen++;
        return taken;
      }
    }
    throw new Error(`${LIMIT} connections were taken under a limit of ${LIMIT} descriptors`);
  };
  const waitReady = async (want: number): Promise<Record<string, unknown>> => {
    for (;;) {
      const r = await get('/readyz');
      if (r.status === want) return JSON.parse(r.text) as Record<string, unknown>;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddp-guard-fd-'));
    metricsPort = await freePort();
    const args = [CLI, 'serve', '--db', 'memory', '--host', '127.0.0.1', '--port', '0', '--metrics-port', String(metricsPort)];
    child = spawn('bash', ['-c', `ulimit -n ${LIMIT}; exec "$0" "$@"`, process.execPath, ...args], { cwd: dir, env: cleanEnv(), stdio: 'pipe' });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child!.once('exit', (code) => reject(new Error(`serve exited with ${code}; stderr: ${stderr}`)));
      child!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const found = /ws:\/\/\S+\/websocket/.exec(stdout)?.[0];
        if (found) resolve(found);
      });
    });
  });

  after(async () => {
    for (const h of held) h.ws.terminate();
    killChild(child);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses past its cap with a prompt close, and keeps serving the connections it holds', async () => {
    expect((await get('/readyz')).status).to.equal(200);
    const taken = await fill();
    // The cap leaves a reserve: well under the limit, but room for real work.
    expect(taken).to.be.within(20, LIMIT - 40);
    // A burst: more attempts, each refused.
    for (let i = 0; i < 4; i++) expect(await attempt(url)).to.deep.equal({ refused: 'closed before open' });
    refusedSeen += 4;

    for (const h of [held[0]!, held[Math.floor(held.length / 2)]!, held[held.length - 1]!]) {
      const answer = await h.call('no.such.method');
      expect(answer.error).to.include({ error: 404 });
    }
    const readiness = await waitReady(503);
    expect(readiness).to.deep.include({ status: 'unavailable' });
    expect(readiness.checks).to.include({ server: 'at-descriptor-limit' });
    expect(readiness.failed).to.include('server');
    expect(await refusedMetric()).to.equal(refusedSeen);
    expect(refusalLogLines(), stderr).to.equal(1);
    expect((await get('/healthz')).status).to.equal(200);
    expect(child!.exitCode).to.equal(null);
  });

  it('takes connections again once some close, and logs the next burst once more', async () => {
    const closing = held.splice(0, 5);
    await Promise.all(closing.map((h) => h.close()));
    const readiness = await waitReady(200);
    expect(readiness.checks).to.include({ server: 'ok' });
    expect(stderr).to.include('accepting connections again (5 refused at the limit)');

    const fresh = await attempt(url);
    expect(fresh).to.be.instanceOf(Held);
    held.push(fresh as Held);
    expect((await (fresh as Held).call('no.such.method')).error).to.include({ error: 404 });

    // Fill the freed places again: the cap is where it was.
    expect(await fill()).to.equal(4);
    expect(await attempt(url)).to.deep.equal({ refused: 'closed before open' });
    refusedSeen++;
    expect((await waitReady(503)).checks).to.include({ server: 'at-descriptor-limit' });
    expect(await refusedMetric()).to.equal(refusedSeen);
    expect(refusalLogLines(), stderr).to.equal(2);
    expect((await held[0]!.call('no.such.method')).error).to.include({ error: 404 });
    expect(child!.exitCode).to.equal(null);
  });
});

describe('the open-file limit read and the reserve kept', () => {
  it('reads the limit that applies: Node raises the soft limit to the hard one at start-up', async () => {
    const script = `import(${JSON.stringify(GUARD_MODULE)}).then((m) => console.log(m.openFilesLimit()))`;
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn('bash', ['-c', 'ulimit -Sn 100 && ulimit -Hn 300 && exec "$0" -e "$1"', process.execPath, script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      c.once('error', reject);
      c.once('close', () => resolve(text.trim()));
    });
    expect(out).to.equal('300');
  });

  it('counts the open descriptors as a listing of /proc/self/fd does (without the listing\'s own), and follows opens and closes', function () {
    if (process.platform !== 'linux') this.skip();
    const listed = (): number => readdirSync('/proc/self/fd').length - 1;
    expect(openDescriptorsSync()).to.equal(listed());
    const fds = Array.from({ length: 20 }, () => openSync('/dev/null', 'r'));
    try {
      expect(openDescriptorsSync()).to.equal(listed());
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    expect(openDescriptorsSync()).to.equal(listed());
  });

  it('keeps room for workers, the PostgreSQL pool, Redis and 2 % of the limit', () => {
    expect(descriptorReserve(150, { passwordWorkers: 1, databaseConnections: 0, redis: false })).to.equal(48 + 4 + 3);
    expect(descriptorReserve(65_536, { passwordWorkers: 8, databaseConnections: 10, redis: true })).to.equal(48 + 32 + 10 + 4 + 1310);
  });
});
