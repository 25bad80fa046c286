/**
 * A re-sent call runs once: a call that arrives again with the same user and `randomSeed` — on
 * another connection (a client that reconnected), or while the first still runs, or on another
 * server sharing the PostgreSQL store — is answered with the first outcome and never runs twice.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { DdpError } from '../../server/index.js';
import type { GuardServer, ServerOptions } from '../../server/index.js';
import { createPostgresStore } from '../../server/storage/postgres/index.js';
import type { Store } from '../../server/storage/contract.js';
import { meteorPassword } from '../accounts/support.js';
import { DdpClient, type Msg } from '../helpers/ddp.js';
import { closeClients } from '../helpers/raw-client.js';
import { gate, startServer, stopServers, type Gate } from '../helpers/server.js';
import { dropSchema, PG_URL, skipUnlessPostgres } from '../helpers/postgres.js';

/** What the test app's methods did: one entry per run of a handler. */
interface Runs {
  append: { user: string | null; text: string }[];
  slowGate: Gate | null;
}

function app(runs: Runs): (server: GuardServer) => void {
  return (server) => {
    server.methods({
      'messages.append'(text: string) {
        runs.append.push({ user: this.userId, text });
        return { n: runs.append.length, text, token: randomBytes(8).toString('hex') };
      },
      async 'messages.slow'(text: string) {
        runs.append.push({ user: this.userId, text });
        await runs.slowGate?.promise;
        return { n: runs.append.length, text };
      },
      'messages.refuse'() {
        runs.append.push({ user: this.userId, text: 'refused' });
        throw new DdpError('not-today', 'Refused', { n: runs.append.length });
      },
      'messages.typed': {
        params: [String],
        handler(text: string) {
          runs.append.push({ user: this.userId, text });
          return text;
        },
      },
    });
  };
}

const clients: DdpClient[] = [];
let seq = 0;

/** Sends a method with a chosen randomSeed (or none) and resolves with its `result` message. */
async function callSeeded(client: DdpClient, seed: string | undefined, method: string, ...params: unknown[]): Promise<Msg> {
  const id = `m${++seq}`;
  const from = client.mark();
  client.send({ msg: 'method', id, method, params, ...(seed === undefined ? {} : { randomSeed: seed }) });
  return client.waitFor((m) => m.msg === 'result' && m.id === id, 10_000, from);
}

async function connect(url: string): Promise<DdpClient> {
  const c = await DdpClient.connect(url);
  clients.push(c);
  return c;
}

/** Signs `name` up on a new connection; returns it with the resume token. */
async function signUp(url: string, name: string): Promise<{ client: DdpClient; token: string; userId: string }> {
  const client = await connect(url);
  const r = await client.call('createUser', { username: name, password: meteorPassword(`pw of ${name} 1234`) });
  expect(r.error, JSON.stringify(r.error)).to.equal(undefined);
  return { client, token: r.result.token, userId: r.result.id };
}

/** A new connection logged in with a resume token (a client after a reconnect). */
async function resume(url: string, token: string): Promise<DdpClient> {
  const client = await connect(url);
  const r = await client.call('login', { resume: token });
  expect(r.error, JSON.stringify(r.error)).to.equal(undefined);
  return client;
}

describe('failover: a re-sent call (same user, same randomSeed) runs once', function () {
  this.timeout(30_000);
  let runs: Runs;
  let url: string;

  const start = async (options: ServerOptions = {}): Promise<void> => {
    const server = await startServer({ signup: true, accountsRateLimitCount: 1000, ...options }, app(runs));
    url = server.url;
  };

  beforeEach(() => {
    runs = { append: [], slowGate: null };
  });
  afterEach(async () => {
    runs.slowGate?.open();
    for (const c of clients.splice(0)) await c.close();
    closeClients();
    await stopServers();
  });

  it('answers the re-sent call on a new connection with the first result, and runs it once', async () => {
    await start();
    const amy = await signUp(url, 'amy');
    const first = await callSeeded(amy.client, 'seed-1', 'messages.append', 'hello');
    expect(first.result).to.include({ n: 1, text: 'hello' });
    await amy.client.close();
    const again = await resume(url, amy.token);
    const second = await callSeeded(again, 'seed-1', 'messages.append', 'hello');
    expect(second.result).to.deep.equal(first.result);
    expect(runs.append).to.have.length(1);
    // A new seed is a new call.
    const third = await callSeeded(again, 'seed-2', 'messages.append', 'hello');
    expect(third.result).to.include({ n: 2 });
    expect(runs.append).to.have.length(2);
  });

  it('runs the same seed separately for another user, and every call without a seed', async () => {
    await start();
    const amy = await signUp(url, 'amy');
    const bob = await signUp(url, 'bob');
    const a = await callSeeded(amy.client, 'shared', 'messages.append', 'a');
    const b = await callSeeded(bob.client, 'shared', 'messages.append', 'b');
    expect(a.result.n).to.equal(1);
    expect(b.result.n).to.equal(2);
    expect(runs.append.map((r) => r.user)).to.deep.equal([amy.userId, bob.userId]);
    await callSeeded(amy.client, undefined, 'messages.append', 'x');
    await callSeeded(amy.client, undefined, 'messages.append', 'x');
    expect(runs.append).to.have.length(4);
  });

  it('a second arrival while the first still runs waits for it and gets its result', async () => {
    await start();
    runs.slowGate = gate();
    const amy = await signUp(url, 'amy');
    const other = await resume(url, amy.token);
    const first = callSeeded(amy.client, 'slow-1', 'messages.slow', 'wait');
    await new Promise((r) => setTimeout(r, 100));
    const second = callSeeded(other, 'slow-1', 'messages.slow', 'wait');
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.append).to.have.length(1);
    runs.slowGate.open();
    const [one, two] = await Promise.all([first, second]);
    expect(one.result).to.deep.equal({ n: 1, text: 'wait' });
    expect(two.result).to.deep.equal(one.result);
    expect(runs.append).to.have.length(1);
  });

  it('gives up waiting after callResultWaitMs with 504, without running the call', async () => {
    await start({ callResultWaitMs: 300 });
    runs.slowGate = gate();
    const amy = await signUp(url, 'amy');
    const other = await resume(url, amy.token);
    const first = callSeeded(amy.client, 'stuck', 'messages.slow', 'x');
    await new Promise((r) => setTimeout(r, 50));
    const second = await callSeeded(other, 'stuck', 'messages.slow', 'x');
    expect(second.error).to.include({ error: 504 });
    expect(runs.append).to.have.length(1);
    runs.slowGate.open();
    expect((await first).result).to.deep.equal({ n: 1, text: 'x' });
  });

  it('replays an error the handler threw, without running it again', async () => {
    await start();
    const amy = await signUp(url, 'amy');
    const first = await callSeeded(amy.client, 'err-1', 'messages.refuse');
    const second = await callSeeded(amy.client, 'err-1', 'messages.refuse');
    expect(first.error).to.deep.include({ error: 'not-today', reason: 'Refused', details: { n: 1 } });
    expect(second.error).to.deep.equal(first.error);
    expect(runs.append).to.have.length(1);
  });

  it('forgets a call a hook refused: the same seed may then run (as a 2FA retry does)', async () => {
    await start();
    const amy = await signUp(url, 'amy');
    const refused = await callSeeded(amy.client, 'typed-1', 'messages.typed', 42);
    expect(refused.error).to.include({ error: 400 });
    const accepted = await callSeeded(amy.client, 'typed-1', 'messages.typed', 'ok');
    expect(accepted.result).to.equal('ok');
    expect(runs.append).to.have.length(1);
  });

  it('runs calls of a connection with no user as before (no key to remember them by)', async () => {
    await start();
    const anon = await connect(url);
    await callSeeded(anon, 'anon', 'messages.append', 'a');
    await callSeeded(anon, 'anon', 'messages.append', 'a');
    expect(runs.append).to.have.length(2);
  });

  it('with callResultWindowMs 0, runs every call', async () => {
    await start({ callResultWindowMs: 0 });
    const amy = await signUp(url, 'amy');
    await callSeeded(amy.client, 'same', 'messages.append', 'a');
    await callSeeded(amy.client, 'same', 'messages.append', 'a');
    expect(runs.append).to.have.length(2);
  });

  describe('two servers on one PostgreSQL schema', () => {
    const schema = `ddpguard_test_${randomBytes(6).toString('hex')}`;
    const stores: Store[] = [];

    before(async function () {
      await skipUnlessPostgres(this);
    });
    after(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => {});
      await dropSchema(schema);
    });

    it('a call re-sent to the other server waits for the first and gets its result; it runs once', async () => {
      const open = async (): Promise<string> => {
        const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 2 });
        stores.push(store);
        const server = await startServer({ signup: true, accountsRateLimitCount: 1000, store }, app(runs));
        return server.url;
      };
      const [urlA, urlB] = [await open(), await open()];
      runs.slowGate = gate();
      const amy = await signUp(urlA, 'amy');
      const onB = await resume(urlB, amy.token);
      const first = callSeeded(amy.client, 'pg-1', 'messages.slow', 'both');
      await new Promise((r) => setTimeout(r, 100));
      const second = callSeeded(onB, 'pg-1', 'messages.slow', 'both');
      await new Promise((r) => setTimeout(r, 200));
      runs.slowGate.open();
      const [one, two] = await Promise.all([first, second]);
      expect(one.result).to.deep.equal({ n: 1, text: 'both' });
      expect(two.result).to.deep.equal(one.result);
      // And once it is done, a re-send to either server is answered from the store.
      const third = await callSeeded(onB, 'pg-1', 'messages.slow', 'both');
      expect(third.result).to.deep.equal(one.result);
      expect(runs.append).to.have.length(1);
    });
  });
});
