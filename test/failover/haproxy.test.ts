/**
 * Failover with real parts: HAProxy (configured as docs/operations.md says) in front of three
 * `ddp-guard serve` processes on one PostgreSQL schema and a Redis the test starts itself.
 * Clients — ddp-guard's own (one with an authenticator app) and simpleddp — make a stream of
 * `messages.append` calls, each inserting one row. Then one process is killed with SIGKILL,
 * Redis is restarted, and the processes' PostgreSQL connections are terminated. Asserted:
 * every acknowledged call has exactly one row and no call has two; every client is back and
 * logged in, with no new 2FA prompt; a spent TOTP step, the trust mark and failed attempts
 * outlive the dead process; calls that need Redis or PostgreSQL fail fast while they are away.
 * The recovery times are printed. Skipped, saying why, without HAProxy, PostgreSQL or redis-server.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import pg from 'pg';
import WebSocket from 'ws';
import simpleDDP from 'simpleddp';
import { connectNode, type DdpClient as NodeClient } from '../../client/node.js';
import { sha256Hex } from '../../server/security/crypto.js';
import { cleanEnv, startServe, type ServeProcess } from '../cli/helpers.js';
import { DdpClient } from '../helpers/ddp.js';
import { skipBecause } from '../helpers/skip.js';
import { enrolTotp, fails, ok, passwordLogin, passwordOf, PG_URL, pgProblem, totpAt, wrongTotp } from '../multi-process/support.js';
import { freePort, haproxyConfig, haproxyPath, httpGet, killHard, recoveryMs, redisServerPath, runLoad, sleep, startHaproxy, startRedis, type LoadStats } from './support.js';

const APP = fileURLToPath(new URL('./fixtures/app.js', import.meta.url));
const WAIT_MS = 5_000;

describe('failover behind HAProxy: kill -9, Redis restart, PostgreSQL connections terminated', function () {
  this.timeout(300_000);
  const schema = `ddpguard_fo_${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(32).toString('hex');
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-failover-'));
  const ports: number[] = [];
  const procs: (ServeProcess | null)[] = [null, null, null];
  let redisPort = 0;
  let redis: ChildProcess | null = null;
  let haproxy: ChildProcess | null = null;
  let frontend = 0;
  let admin: pg.Client | null = null;
  const closers: (() => Promise<void> | void)[] = [];

  const serve = async (i: number): Promise<ServeProcess> => {
    const proc = await startServe([
      '--port', String(ports[i]), '--db', `${PG_URL}?schema=${schema}`, '--redis', `redis://127.0.0.1:${redisPort}`, '--app', APP,
      '--log-level', 'error', '--http-forwarded-count', '1', '--signup', '--accounts-rate-limit-count', '10000', '--call-result-wait-ms', String(WAIT_MS),
    ], { cwd, env: cleanEnv({ DDP_GUARD_SECRET: secret, FAILOVER_APP_DB: PG_URL, FAILOVER_APP_SCHEMA: schema }) });
    procs[i] = proc;
    return proc;
  };

  before(async function () {
    const haproxyBin = haproxyPath();
    if (!haproxyBin) skipBecause(this, 'HAProxy is not installed (apt-get install haproxy; .ci/run installs it)');
    if (!redisServerPath()) skipBecause(this, 'redis-server is not installed: the test starts a Redis of its own');
    const problem = await pgProblem();
    if (problem) skipBecause(this, `PostgreSQL does not answer at ${PG_URL} (${problem})`);
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(`CREATE TABLE "${schema}".messages (call_id text NOT NULL, user_id text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    // One at a time: the first migrates the schema.
    for (let i = 0; i < 3; i++) await serve(i);
    frontend = await freePort();
    haproxy = await startHaproxy(haproxyBin!, haproxyConfig(frontend, ports), path.join(cwd, 'haproxy.cfg'), frontend);
  });

  after(async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
    for (const p of procs) if (p) await killHard(p.child);
    if (haproxy) await killHard(haproxy);
    if (redis) await killHard(redis);
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await admin.end();
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('loses no acknowledged call, runs none twice, and every client comes back logged in', async () => {
    const url = `ws://127.0.0.1:${frontend}/websocket`;
    const raw = async (): Promise<DdpClient> => {
      const c = await DdpClient.connect(url);
      closers.push(() => c.close());
      return c;
    };
    const signUp = async (name: string): Promise<{ client: DdpClient; token: string; userId: string }> => {
      const client = await raw();
      const r = (await ok(client, 'createUser', { username: name, password: { digest: sha256Hex(passwordOf(name)), algorithm: 'sha-256' } })) as { id: string; token: string };
      return { client, token: r.token, userId: r.id };
    };

    // ---- accounts: three plain users, one with an authenticator app (tina), one locked halfway (lara), one for simpleddp.
    const plain = ['ann', 'ben', 'cat'];
    for (const name of plain) await signUp(name);
    const tinaSetup = await signUp('tina');
    const { secret: tinaSecret } = await enrolTotp(tinaSetup.client, 'tina');
    const lara = await signUp('lara');
    const { secret: laraSecret } = await enrolTotp(lara.client, 'lara');
    for (let i = 0; i < 2; i++) expect((await fails(lara.client, 'app.guarded', { twoFactorCode: wrongTotp(laraSecret), twoFactorMethod: 'totp' })).error).to.equal('totp-invalid');
    const simon = await signUp('simon');

    // ---- the project's clients, logged in through HAProxy.
    const prompts: string[] = [];
    let tinaCode = '';
    const own: { name: string; client: NodeClient }[] = [];
    for (const name of [...plain, 'tina']) {
      const client = await connectNode(url, {
        minDelayMs: 100, maxDelayMs: 1000, callTimeoutMs: 60_000,
        onTwoFactorRequired: (challenge) => {
          prompts.push(challenge.method);
          const code = totpAt(tinaSecret, 1);
          tinaCode = code;
          return { code };
        },
      });
      closers.push(() => client.close());
      await client.loginWithPassword(name, passwordOf(name));
      own.push({ name, client });
    }
    const tina = own.find((o) => o.name === 'tina')!.client;
    expect(prompts).to.deep.equal(['login']);
    // The login with a code marked this client trusted: a guarded method asks for nothing.
    expect(await tina.call('app.guarded')).to.equal('guarded ok');
    expect(prompts).to.have.length(1);

    // ---- simpleddp, a third-party client: no randomSeed, no re-send; it logs in again with its token.
    const sddp = new simpleDDP({ endpoint: url, SocketConstructor: WebSocket, reconnectInterval: 300 });
    closers.push(() => sddp.disconnect());
    await sddp.connect();
    await sddp.call('login', { resume: simon.token });
    const simpleAppend = async (callId: string): Promise<unknown> => {
      const answer = Promise.race([sddp.call('messages.append', callId), sleep(10_000).then(() => Promise.reject(new Error('timeout')))]);
      try {
        return await answer;
      } catch (err) {
        if ((err as { error?: unknown }).error === 401) await sddp.call('login', { resume: simon.token }).catch(() => {});
        throw err;
      }
    };

    const loads = [
      ...own.map(({ name, client }) => runLoad(name, (id) => client.call('messages.append', id))),
      runLoad('simpleddp', simpleAppend),
    ];
    const stats: LoadStats[] = loads.map((l) => l.stats);
    const figures: Record<string, string> = {};
    await sleep(2000);

    // ---- fault 1: kill -9 the process that serves ann.
    const annPid = ((await own[0]!.client.call('whoami')) as { pid: number }).pid;
    const victim = procs.findIndex((p) => p?.child.pid === annPid);
    expect(victim, 'ann is served by one of the three processes').to.be.at.least(0);
    const served = await Promise.all(own.map(async ({ name, client }) => ({ name, pid: ((await client.call('whoami')) as { pid: number }).pid })));
    figures['clients on the killed process'] = served.filter((c) => c.pid === annPid).map((c) => c.name).join(', ');
    const killedAt = performance.now();
    await killHard(procs[victim]!.child);
    procs[victim] = null;
    await waitFor(() => recoveryMs(stats, killedAt) !== null, 'every client to be acknowledged again after the kill', 60_000);
    figures['kill -9 of one process: every client acknowledged again after'] = `${Math.round(recoveryMs(stats, killedAt)!)} ms`;
    // Unanswered calls of the dead process are answered by now (or gave up after the wait).
    await sleep(WAIT_MS + 1000);

    // What the dead process knew is still known: the spent TOTP step, the trust mark, the failures.
    const replay = await raw();
    const refused = await fails(replay, 'login', { totp: { login: passwordLogin('tina'), code: tinaCode } });
    expect(refused.error).to.equal('totp-invalid');
    expect(await tina.call('app.guarded')).to.equal('guarded ok');
    const { rows: attempts } = await admin!.query<{ failures: number }>(`SELECT failures FROM "${schema}".attempts WHERE user_id = $1 AND factor = 'totp'`, [lara.userId]);
    expect(attempts[0]?.failures).to.equal(2);
    await serve(victim);

    // ---- fault 2: Redis goes away for 3 s, then comes back on the same port.
    const probe = own[1]!.client;
    expect(await probe.call('messages.limited')).to.be.a('number');
    await killHard(redis!);
    const redisDownAt = performance.now();
    const probeStarted = performance.now();
    const limited = await probe.call('messages.limited').then(() => 'ok', (err: { error?: unknown }) => String(err.error));
    const probeMs = performance.now() - probeStarted;
    expect(limited, 'a rate-limited call while Redis is away').to.equal('503');
    expect(probeMs, 'it fails fast').to.be.below(5000);
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${ports[0]}/readyz`)) === 503, '/readyz to say Redis is away', 10_000);
    figures['Redis away: a rate-limited call failed with 503 after'] = `${Math.round(probeMs)} ms`;
    await sleep(Math.max(0, 3000 - (performance.now() - redisDownAt)));
    redis = await startRedis(redisPort);
    const redisBackAt = performance.now();
    await waitFor(async () => (await probe.call('messages.limited').then(() => true, () => false)), 'a rate-limited call to work again', 30_000);
    figures['Redis back: rate-limited calls work again after'] = `${Math.round(performance.now() - redisBackAt)} ms`;
    await waitFor(async () => (await Promise.all(ports.map((p) => httpGet(`http://127.0.0.1:${p}/readyz`)))).every((s) => s === 200), 'every /readyz to be 200 again', 30_000);
    figures['Redis back: every /readyz 200 again after'] = `${Math.round(performance.now() - redisBackAt)} ms`;

    // ---- fault 3: PostgreSQL drops every connection of these processes.
    const failedBefore = stats.reduce((n, s) => n + s.failed.size, 0);
    const pgAt = performance.now();
    const { rows: ended } = await admin!.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND datname = current_database() AND query LIKE $1`, [`%${schema}%`]);
    expect(Number(ended[0]!.n), 'connections terminated').to.be.greaterThan(0);
    await waitFor(() => recoveryMs(stats, pgAt) !== null, 'every client to be acknowledged again after the connections were terminated', 60_000);
    figures[`PostgreSQL: ${ended[0]!.n} connections terminated; every client acknowledged again after`] = `${Math.round(recoveryMs(stats, pgAt)!)} ms`;
    figures['PostgreSQL: calls refused meanwhile'] = String(stats.reduce((n, s) => n + s.failed.size, 0) - failedBefore);
    await sleep(1000);

    // ---- the count: none lost, none twice.
    for (const l of loads) await l.stop();
    const { rows } = await admin!.query<{ call_id: string; n: string }>(`SELECT call_id, count(*) AS n FROM "${schema}".messages GROUP BY call_id`);
    const written = new Map(rows.map((r) => [r.call_id, Number(r.n)]));
    const twice = rows.filter((r) => Number(r.n) > 1).map((r) => r.call_id);
    expect(twice, 'calls that ran twice').to.deep.equal([]);
    const acked = stats.flatMap((s) => [...s.acked]);
    const lost = acked.filter((id) => written.get(id) !== 1);
    expect(lost, 'acknowledged calls without their row').to.deep.equal([]);
    const unackedRows = rows.filter((r) => !acked.includes(r.call_id)).length;
    const failures = new Map<string, number>();
    for (const s of stats) for (const code of s.failed.values()) failures.set(code, (failures.get(code) ?? 0) + 1);
    figures['calls acknowledged = rows written for them'] = `${acked.length} = ${acked.length - lost.length}`;
    figures['rows of calls whose answer was lost (not acknowledged)'] = String(unackedRows);
    figures['failed calls, by error'] = [...failures].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    figures['slowest failed call'] = `${Math.round(Math.max(...stats.map((s) => s.slowestFailureMs)))} ms`;

    // ---- every client is back and logged in, with no new 2FA prompt.
    for (const { name, client } of own) {
      expect(client.userId, `${name} logged in`).to.be.a('string');
      expect(((await client.call('whoami')) as { userId: string }).userId).to.equal(client.userId);
    }
    expect(await tina.call('app.guarded')).to.equal('guarded ok');
    expect(prompts, '2FA prompts (the first login only)').to.deep.equal(['login']);
    expect(await simpleAppend('simpleddp-final')).to.deep.include({ callId: 'simpleddp-final' });
    for (const s of stats) expect(s.acked.size, `${s.name} made progress`).to.be.greaterThan(10);

    console.log('\n  failover measurements (loopback, shared 2-core machine):');
    for (const [k, v] of Object.entries(figures)) console.log(`    ${k}: ${v}`);
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
