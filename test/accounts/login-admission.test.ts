/**
 * Logins under admission control: password checks wait for a bcrypt worker only within the
 * queue's bounds (`passwordQueueMax`, `passwordQueueMs`); past them a login over DDP or HTTP,
 * and any other password check, is refused with Rocket.Chat's `too-many-requests` and
 * `details.timeToReset`, without counting as a guess. The single worker is kept busy by a
 * comparison against a cost-14 hash (over a second of bcrypt), so what is refused does not
 * depend on timing.
 */
import { expect } from 'chai';
import { sha256Hex } from '../../server/security/crypto.js';
import { createServer, OptionError } from '../../server/index.js';
import { passwordLogin, passwordOf, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { Msg } from '../two-factor/client.js';

/** bcrypt (cost 14) of a digest nobody sends: comparing against it keeps a worker busy for a second or more. */
const SLOW_HASH = '$2b$14$DuppdNWilKRxq1p2GNFSAO7zxSBhRybV.BeN21UqusEMUGsdD3GhC';
const OTHER_DIGEST = sha256Hex('not the one');
const BUSY = 'too-many-requests';

function loginUrl(fx: Fixture): string {
  return fx.url.replace(/^ws/, 'http').replace(/\/websocket$/, '/api/v1/login');
}

/** Occupies the only worker; resolves when it is free again. */
function hogWorker(fx: Fixture): { done: () => boolean; finished: Promise<boolean> } {
  let over = false;
  const finished = fx.services.hasher.compare(OTHER_DIGEST, SLOW_HASH).finally(() => {
    over = true;
  });
  return { done: () => over, finished };
}

async function passwordFailures(fx: Fixture, userId: string): Promise<number> {
  const now = new Date(fx.clock.now());
  return (await fx.services.store.attempts.get(userId, 'password', now)).failures;
}

describe('accounts: logins under admission control', function () {
  this.timeout(60_000);
  afterEach(stopFixtures);

  it('refuses DDP and HTTP logins at once with too-many-requests and timeToReset when the queue is full, and accepts them once it has room', async () => {
    const fx = await startFixture({ passwordWorkers: 1, passwordQueueMax: 0, passwordQueueMs: 60_000 });
    const alice = await fx.user('alice');
    const client = await fx.connect();
    const hog = hogWorker(fx);

    const refused = await client.fails('login', passwordLogin('alice'));
    expect(hog.done(), 'refused while the worker was still busy').to.equal(false);
    expect(refused.error).to.equal(BUSY);
    expect(refused.reason).to.match(/^Error, too many requests\. Please slow down\. You must wait \d+ seconds before trying again\.$/);
    expect(refused.details.timeToReset).to.be.a('number').above(0);

    const http = await fetch(loginUrl(fx), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice', password: passwordOf('alice') }) });
    expect(http.status).to.equal(429);
    const body = (await http.json()) as Msg;
    expect(hog.done()).to.equal(false);
    expect(body).to.deep.include({ success: false, status: 'error', error: BUSY });
    expect(body.details.timeToReset).to.be.a('number').above(0);

    // A wrong password refused for load is not a guess: the account's budget is untouched.
    const wrong = await client.fails('login', { user: { username: 'alice' }, password: { digest: OTHER_DIGEST, algorithm: 'sha-256' } });
    expect(wrong.error).to.equal(BUSY);
    expect(await passwordFailures(fx, alice.id)).to.equal(0);

    await hog.finished;
    // While nothing waits, a wrong password is checked and counted as before...
    expect((await client.fails('login', { user: { username: 'alice' }, password: { digest: OTHER_DIGEST, algorithm: 'sha-256' } })).error).to.equal(403);
    expect(await passwordFailures(fx, alice.id)).to.equal(1);
    // ...and the right one is accepted.
    expect(((await client.ok('login', passwordLogin('alice'))) as Msg).type).to.equal('password');
  });

  it('refuses a login that waited passwordQueueMs for a worker, while the worker is still busy: nothing waits without end', async () => {
    const fx = await startFixture({ passwordWorkers: 1, passwordQueueMax: 10, passwordQueueMs: 200 });
    const alice = await fx.user('alice');
    const client = await fx.connect();
    const hog = hogWorker(fx);
    // Admitted (one job ahead, measured at cost 4), then refused when its wait runs out.
    const refused = await client.fails('login', passwordLogin('alice'));
    expect(hog.done(), 'refused before the worker was free').to.equal(false);
    expect(refused.error).to.equal(BUSY);
    expect(refused.details.timeToReset).to.be.a('number').above(0);
    expect(fx.services.hasher.queueLength()).to.equal(0);
    expect(await passwordFailures(fx, alice.id)).to.equal(0);
    await hog.finished;
    expect(((await client.ok('login', passwordLogin('alice'))) as Msg).type).to.equal('password');
  });

  it('changePassword goes through the same pool: refused with too-many-requests while it is full', async () => {
    const fx = await startFixture({ passwordWorkers: 1, passwordQueueMax: 0, passwordQueueMs: 60_000 });
    await fx.user('bob');
    const { client } = await fx.login('bob');
    const hog = hogWorker(fx);
    const old = { digest: sha256Hex(passwordOf('bob')), algorithm: 'sha-256' };
    const refused = await client.fails('changePassword', old, { digest: sha256Hex('a new password for bob'), algorithm: 'sha-256' });
    expect(hog.done()).to.equal(false);
    expect(refused.error).to.equal(BUSY);
    expect(refused.details.timeToReset).to.be.a('number').above(0);
    await hog.finished;
    // The password did not change.
    expect(((await (await fx.connect()).ok('login', passwordLogin('bob'))) as Msg).type).to.equal('password');
  });

  it('validates the queue options when the server is created', () => {
    expect(() => createServer({ passwordQueueMs: 0 })).to.throw(OptionError, /passwordQueueMs/);
    expect(() => createServer({ passwordQueueMs: 1.5 })).to.throw(OptionError, /passwordQueueMs/);
    expect(() => createServer({ passwordQueueMax: -1 })).to.throw(OptionError, /passwordQueueMax/);
    expect(() => createServer({ passwordWorkers: -1 })).to.throw(OptionError, /passwordWorkers/);
  });
});
