/**
 * Two (and, for the crash, three) real `ddp-guard serve` processes on one PostgreSQL schema and
 * one Redis, used as a person behind a load balancer would: what one process does, the other
 * knows — users and TOTP secrets, spent codes, failed attempts, rate-limit counters, user
 * document changes and stream events — and a client whose process dies carries on with another.
 * Skipped, saying so, when PostgreSQL or Redis does not answer.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { createNodeClient, type DdpClient as NodeClient, type LoginResult } from '../../client/node.js';
import { sha256Hex } from '../../server/security/crypto.js';
import type { ServeProcess } from '../cli/helpers.js';
import { DdpClient, type Msg } from '../helpers/ddp.js';
import {
  Cluster,
  enrolTotp,
  fails,
  httpBase,
  login,
  ok,
  passwordLogin,
  passwordOf,
  pgProblem,
  PG_URL,
  portOf,
  postJson,
  randomLoopback,
  REDIS_URL,
  redisProblem,
  SwitchingProxy,
  totpAt,
  wrongTotp,
  type Login,
} from './support.js';
import { skipBecause } from '../helpers/skip.js';

const ROOM_STREAM = 'stream-room-messages';
const USERS = ['erin', 'alice', 'dave', 'carol', 'frank', 'gina', 'hank', 'ivan', 'lou', 'mona', 'nell'];

const totpAnswer = (code: string): Msg => ({ twoFactorCode: code, twoFactorMethod: 'totp' });

async function waitUntil(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('several processes on one PostgreSQL and one Redis', function () {
  this.timeout(60_000);
  let cluster: Cluster | null = null;
  let A: ServeProcess;
  let B: ServeProcess;
  const clients: DdpClient[] = [];

  /** A raw DDP connection, closed after the test. */
  async function connect(url: string): Promise<DdpClient> {
    const client = await DdpClient.connect(url);
    clients.push(client);
    return client;
  }

  /** A password login (or `argument`) on a new connection, closed after the test. */
  async function loginOn(proc: ServeProcess, name: string, argument?: Msg): Promise<Login> {
    const session = await login(proc.url, name, argument);
    clients.push(session.client);
    return session;
  }

  before(async function () {
    // Two servers and eight CLI processes starting at once: minutes, not seconds, on a busy machine.
    this.timeout(180_000);
    const problems = [
      await pgProblem().then((p) => (p === null ? null : `PostgreSQL does not answer at ${PG_URL} (${p})`)),
      await redisProblem().then((p) => (p === null ? null : `Redis does not answer at ${REDIS_URL} (${p})`)),
    ].filter((p): p is string => p !== null);
    if (problems.length > 0) {
      skipBecause(this, problems.join('; '));
    }
    cluster = new Cluster();
    // Started together: both migrate the fresh schema at the same moment.
    [A, B] = await Promise.all([cluster.start(), cluster.start()]);
    expect(A.stdout()).to.include(`shared through Redis at 127.0.0.1:6379`);
    await Promise.all(USERS.map((name) => cluster!.addUser(name)));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  after(async () => {
    await cluster?.stop();
  });

  it('logging out through A ends the connection resumed with that token on B at once, and the token works nowhere', async () => {
    const onA = await loginOn(A, 'lou');
    const onB = await loginOn(B, 'lou', { resume: onA.token });
    const started = Date.now();
    await ok(onA.client, 'logout');
    const closed = await onB.client.closed;
    const tookMs = Date.now() - started;
    expect(closed.code).to.equal(1000);
    // Redis tells B to read the feed: well under the 500 ms poll.
    expect(tookMs).to.be.below(5_000);
    const again = await connect(B.url);
    expect((await fails(again, 'login', { resume: onA.token })).error).to.equal(403);
  });

  it('ddp-guard user passwd, run as its own process on the shared database, ends the user\'s connections on A and B', async () => {
    const onA = await loginOn(A, 'mona');
    const onB = await loginOn(B, 'mona', { resume: onA.token });
    const result = await cluster!.cli(['user', 'passwd', 'mona', '--password', 'an entirely new password']);
    expect(result.stdout).to.match(/1 login session signed out/);
    expect((await onA.client.closed).code).to.equal(1000);
    expect((await onB.client.closed).code).to.equal(1000);
  });

  it('wrong passwords through A and B share one budget: the 10th locks the account on both', async () => {
    const wrong = (i: number): Msg => ({ user: { username: 'nell' }, password: { digest: sha256Hex(`guess ${i}`), algorithm: 'sha-256' } });
    const errors: unknown[] = [];
    for (let i = 0; i < 10; i++) errors.push((await fails(await connect((i % 2 === 0 ? A : B).url), 'login', wrong(i))).error);
    expect(errors.slice(0, 9).every((e) => e === 403)).to.equal(true);
    expect(errors[9]).to.equal('error-login-blocked-for-user');
    for (const proc of [A, B]) expect((await fails(await connect(proc.url), 'login', passwordLogin('nell'))).error).to.equal('error-login-blocked-for-user');
  });

  it("a change to a user made through A reaches that user's client on B (user events through Redis)", async () => {
    const onA = await loginOn(A, 'erin');
    const onB = await loginOn(B, 'erin');
    expect(onB.userId).to.equal(onA.userId);
    await onB.client.waitFor((m) => m.msg === 'added' && m.collection === 'users' && m.id === onB.userId);
    expect(onB.client.docs('users').get(onB.userId)?.twoFactor).to.deep.equal({ totp: false, email: false });

    const from = onB.client.mark();
    expect(await ok(onA.client, '2fa:enableEmail', { twoFactorCode: sha256Hex(passwordOf('erin')), twoFactorMethod: 'password' })).to.equal(true);
    const changed = await onB.client.waitFor((m) => m.msg === 'changed' && m.collection === 'users' && m.id === onB.userId, 5_000, from);
    expect(changed.fields.twoFactor).to.deep.equal({ totp: false, email: true });
  });

  it('TOTP enabled through A: logging in through B asks for the code, and B accepts the right one', async () => {
    const onA = await loginOn(A, 'alice');
    const { secret } = await enrolTotp(onA.client, 'alice');

    const viaB = await connect(B.url);
    const asked = await fails(viaB, 'login', passwordLogin('alice'));
    expect(asked.error).to.equal('totp-required');
    expect(asked.details).to.deep.include({ method: 'totp' });
    // B decrypts the TOTP secret A encrypted: both have the same server secret.
    const result = (await ok(viaB, 'login', { totp: { login: passwordLogin('alice'), code: totpAt(secret, 1) } })) as { id: string };
    expect(result.id).to.equal(onA.userId);
  });

  it('a TOTP code accepted on A is refused as a replay on B', async () => {
    const onA = await loginOn(A, 'dave');
    const { secret } = await enrolTotp(onA.client, 'dave');
    // The login token made on A works on B.
    const onB = await loginOn(B, 'dave', { resume: onA.token });
    expect(onB.userId).to.equal(onA.userId);

    const code = totpAt(secret, 1);
    expect(await ok(onA.client, 'app.guarded', totpAnswer(code))).to.equal('guarded ok');
    const replay = await fails(onB.client, 'app.guarded', totpAnswer(code));
    expect(replay.error).to.equal('totp-invalid');
  });

  it('failed attempts on A and B add up to the lock-out, which then holds on both', async () => {
    const onA = await loginOn(A, 'carol');
    const { secret } = await enrolTotp(onA.client, 'carol');
    const onB = await loginOn(B, 'carol', { resume: onA.token });

    // Two wrong codes on A and two on B: four of the five allowed.
    for (const [i, session] of [onA, onB, onA, onB].entries()) {
      expect((await fails(session.client, 'app.guarded', totpAnswer(wrongTotp(secret)))).error, `wrong code #${i + 1}`).to.equal('totp-invalid');
    }
    const fifth = await fails(onA.client, 'app.guarded', totpAnswer(wrongTotp(secret)));
    expect(fifth.error).to.equal('totp-max-attempts');
    expect(fifth.details.lockedFor).to.be.within(50_000, 60_000);
    // The right code is refused on the other process too.
    const right = await fails(onB.client, 'app.guarded', totpAnswer(totpAt(secret, 1)));
    expect(right.error).to.equal('totp-max-attempts');
  });

  it('rate-limit counters are shared: the 6th HTTP login from one address, 3 to A and 3 to B, gets 429', async () => {
    // The accounts rule counts per connection; over HTTP that is `http:<client address>`, the
    // same on both processes. A fresh loopback address keeps other runs out of the count.
    const address = randomLoopback();
    const bases = [httpBase(A.url), httpBase(B.url)];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { status } = await postJson(bases[i % 2]!, '/api/v1/login', { user: 'frank', password: 'not the password' }, address);
      statuses.push(status);
    }
    expect(statuses.slice(0, 5)).to.not.include(429);
    expect(statuses[5]).to.equal(429);
    // Also the right password, on either process, until the window ends.
    const limited = await postJson(bases[0]!, '/api/v1/login', { user: 'frank', password: passwordOf('frank') }, address);
    expect(limited.status).to.equal(429);
    expect(limited.body.details.timeToReset).to.be.within(1, 10_000);
    // Another address is counted apart.
    const other = await postJson(bases[1]!, '/api/v1/login', { user: 'frank', password: passwordOf('frank') }, randomLoopback());
    expect(other.status).to.equal(200);
    expect(other.body.status).to.equal('success');
  });

  it('an event emitted on A reaches a stream subscriber on B, and no process delivers an event twice', async () => {
    const onA = await loginOn(A, 'gina');
    const onB = await loginOn(B, 'gina');
    const room = `room-${randomBytes(4).toString('hex')}`;
    for (const session of [onA, onB]) {
      expect((await session.client.subscribe(ROOM_STREAM, room, { useCollection: false, args: [] })).msg).to.equal('ready');
    }
    const from = { a: onA.client.mark(), b: onB.client.mark() };
    const said = (client: DdpClient, start: number): string[] =>
      client.log.slice(start).filter((m) => m.msg === 'changed' && m.collection === ROOM_STREAM).map((m) => m.fields.args[0].msg as string);
    const heard = (client: DdpClient, start: number, text: string): Promise<Msg> =>
      client.waitFor((m) => m.msg === 'changed' && m.collection === ROOM_STREAM && m.fields.args[0].msg === text, 5_000, start);

    expect(await ok(onA.client, 'rooms.say', room, 'hello from A')).to.equal(true);
    const event = await heard(onB.client, from.b, 'hello from A');
    expect(event).to.deep.equal({
      msg: 'changed',
      collection: ROOM_STREAM,
      id: 'id',
      fields: { eventName: room, args: [{ rid: room, msg: 'hello from A', u: { _id: onA.userId }, pid: A.child.pid }] },
    });
    // Barriers: Redis delivers messages in the order they were published, so when B's event
    // reaches A, an echo of A's own earlier event would already have arrived; and the other way.
    expect(await ok(onB.client, 'rooms.say', room, 'hello from B')).to.equal(true);
    await heard(onA.client, from.a, 'hello from B');
    expect(await ok(onA.client, 'rooms.say', room, 'barrier')).to.equal(true);
    await heard(onB.client, from.b, 'barrier');
    expect(said(onA.client, from.a)).to.deep.equal(['hello from A', 'hello from B', 'barrier']);
    expect(said(onB.client, from.b)).to.deep.equal(['hello from A', 'hello from B', 'barrier']);
  });

  it('one backup code used on A and B at the same moment: exactly one login wins', async () => {
    const onA = await loginOn(A, 'hank');
    const { codes } = await enrolTotp(onA.client, 'hank');
    for (const code of codes.slice(0, 3)) {
      const [viaA, viaB] = await Promise.all([connect(A.url), connect(B.url)]);
      const argument = { totp: { login: passwordLogin('hank'), code } };
      const outcomes = await Promise.all([viaA.call('login', argument), viaB.call('login', argument)]);
      const winners = outcomes.filter((o) => o.error === undefined);
      expect(winners, `code ${code}: ${JSON.stringify(outcomes.map((o) => o.error?.error ?? 'ok'))}`).to.have.length(1);
      expect(winners[0]!.result.id).to.equal(onA.userId);
      expect(outcomes.find((o) => o.error !== undefined)!.error!.error).to.equal('totp-invalid');
    }
    expect(await ok(onA.client, '2fa:checkCodesRemaining')).to.deep.equal({ remaining: codes.length - 3 });
  });

  it('a process killed mid-session: the client reconnects through the load balancer to B and resumes its login', async () => {
    const C = await cluster!.start();
    const proxy = new SwitchingProxy(portOf(C.url));
    const url = await proxy.start();
    // The load balancer's health check: once C is gone, new connections go to B.
    void C.exited.then(() => proxy.switchTo(portOf(B.url)));
    const client: NodeClient = createNodeClient(url, { minDelayMs: 50, maxDelayMs: 500 });
    try {
      await client.connect();
      const first = await client.loginWithPassword('ivan', passwordOf('ivan'));
      expect(await client.call('whoami')).to.deep.equal({ userId: first.id, pid: C.child.pid });
      const logins: LoginResult[] = [];
      client.on('login', (result) => logins.push(result));

      await cluster!.kill(C);
      // B kept serving while C died.
      const onB = await loginOn(B, 'ivan');
      expect(await ok(onB.client, 'whoami')).to.deep.equal({ userId: first.id, pid: B.child.pid });

      await waitUntil(() => logins.length === 1 && client.status === 'connected', 'the reconnect and the resumed login');
      expect(logins[0]).to.deep.include({ id: first.id, token: first.token, type: 'resume' });
      expect(client.userId).to.equal(first.id);
      expect(await client.call('whoami')).to.deep.equal({ userId: first.id, pid: B.child.pid });
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
