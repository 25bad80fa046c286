/**
 * At the open-file limit a server refuses new connections cleanly: the held ones still answer
 * calls, new ones are refused, the refusal is logged once per burst and counted in
 * `ddp_guard_connections_refused_total`, `/readyz` says so, and once connections close the
 * server accepts again. For real: a child process under `ulimit -n 200`.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DdpClient } from '../helpers/ddp.js';
import { freePort } from '../helpers/ports.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/low-fd-server.js', import.meta.url));
const LIMIT = 200;

interface LogLine { level: string; message: string; fields: Record<string, unknown> }

async function tryConnect(url: string): Promise<DdpClient | null> {
  try {
    return await DdpClient.connect(url);
  } catch {
    return null;
  }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

describe('transport: at the open-file limit', function () {
  this.timeout(60_000);
  let child: ChildProcess | null = null;
  const held: DdpClient[] = [];

  afterEach(async () => {
    await Promise.all(held.splice(0).map((c) => c.close()));
    child?.kill('SIGKILL');
    child = null;
  });

  it(`refuses new connections cleanly under ulimit -n ${LIMIT}, keeps the held ones, and accepts again when some close`, async () => {
    const metricsPort = await freePort();
    const proc = spawn('bash', ['-c', `ulimit -n ${LIMIT}; exec "${process.execPath}" "${FIXTURE}" ${metricsPort}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = proc;
    const logs: LogLine[] = [];
    let exited = false;
    proc.on('exit', () => {
      exited = true;
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const ready = /^ready (\d+)$/.exec(text);
          if (ready) resolve(Number(ready[1]));
          else if (text.startsWith('{')) logs.push(JSON.parse(text) as LogLine);
        }
      });
      proc.once('exit', (code) => reject(new Error(`server exited (${code}) before it was ready`)));
    });
    const url = `ws://127.0.0.1:${port}/websocket`;
    const metrics = `http://127.0.0.1:${metricsPort}`;
    const readyz = async (): Promise<{ status: number; body: { checks: { server: string } } }> => {
      const res = await fetch(`${metrics}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: { server: string } } };
    };
    const refusedTotal = async (): Promise<number> => {
      const text = await (await fetch(`${metrics}/metrics`)).text();
      const m = /^ddp_guard_connections_refused_total (\d+)/m.exec(text);
      return m ? Number(m[1]) : -1;
    };
    expect((await readyz()).status).to.equal(200);
    expect(await refusedTotal()).to.equal(0);

    // Fill: connect one at a time until one is refused.
    let refusedAt = -1;
    for (let i = 0; i < LIMIT; i++) {
      const c = await tryConnect(url);
      if (c === null) {
        refusedAt = i;
        break;
      }
      held.push(c);
    }
    expect(refusedAt, 'a connection was refused before the limit').to.be.above(50).and.below(LIMIT);
    // Further ones are refused too, and the server does not crash or spin.
    for (let i = 0; i < 5; i++) expect(await tryConnect(url)).to.equal(null);
    expect(exited).to.equal(false);

    // Every held connection still answers.
    const answers = await Promise.all(held.map((c, i) => c.call('echo', i)));
    answers.forEach((a, i) => expect(a.result).to.deep.equal([i]));

    const atLimit = await readyz();
    expect(atLimit.status).to.equal(503);
    expect(atLimit.body.checks.server).to.equal('at-descriptor-limit');
    expect(await refusedTotal()).to.equal(6);
    const warnings = logs.filter((l) => l.fields.event === 'descriptor-limit' && l.level === 'warn');
    expect(warnings, 'logged once for the burst').to.have.length(1);

    // Close ten: the server accepts again.
    await Promise.all(held.splice(0, 10).map((c) => c.close()));
    expect(await until(async () => (await readyz()).status === 200, 10_000), '/readyz ready again').to.equal(true);
    const again = await tryConnect(url);
    expect(again).to.not.equal(null);
    held.push(again!);
    expect((await again!.call('echo', 'back')).result).to.deep.equal(['back']);
    expect(logs.some((l) => l.fields.event === 'descriptor-limit' && /accepting connections again \(6 refused/.test(l.message))).to.equal(true);
    expect(exited).to.equal(false);
  });
});
