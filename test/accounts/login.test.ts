import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../server/index.js';
import type { Store } from '../../server/storage/contract.js';
import { createMemoryStore } from '../../server/storage/memory/index.js';
import { stopServers } from '../helpers/server.js';
import { ClientPool, type DdpClient } from '../helpers/ddp.js';
import { addUser, DAY_MS, meteorHashedToken, meteorPassword, removeTempDirs, startAccountsServer, T0, tempDir } from './support.js';

const LOGIN_FAILED = 'Something went wrong. Please check your credentials.';
const LOGGED_OUT = "You've been logged out by the server. Please log in again.";

describe('accounts: login, resume and session tokens', function () {
  const pool = new ClientPool();
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
    removeTempDirs();
  });

  async function loginOn(client: DdpClient, user: unknown, password: unknown): Promise<{ id: string; token: string; tokenExpires: Date; type: string }> {
    const out = await client.call('login', { user, password });
    expect(out.error, JSON.stringify(out.error)).to.equal(undefined);
    return out.result;
  }

  it('logs in with Meteor digests and plain passwords, by username, email, id or a string', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ clock });
    const alice = await addUser(services, { username: 'alice', email: 'alice@example.com', password: 'correct horse' });
    const selectors: unknown[] = [{ username: 'alice' }, { email: 'alice@example.com' }, { id: alice.id }, 'alice', 'alice@example.com'];
    const tokens = new Set<string>();
    for (const user of selectors) {
      for (const password of [meteorPassword('correct horse'), 'correct horse']) {
        const result = await loginOn(await pool.connect(url), user, password);
        expect(result).to.have.all.keys('id', 'token', 'tokenExpires', 'type');
        expect(result.id).to.equal(alice.id);
        expect(result.type).to.equal('password');
        expect(result.tokenExpires).to.be.instanceOf(Date);
        // Meteor's default lifetime: 90 days from the login.
        expect(result.tokenExpires.getTime()).to.equal(T0 + 90 * DAY_MS);
        // 256 random bits in base64url.
        expect(result.token).to.match(/^[A-Za-z0-9_-]{43,}$/);
        tokens.add(result.token);
      }
    }
    expect(tokens.size).to.equal(selectors.length * 2);
  });

  it("publishes the user's own document before the login's updated, with exactly the public fields", async () => {
    const { services, url } = await startAccountsServer();
    const alice = await addUser(services, { username: 'alice', email: 'alice@example.com', password: 'pw-alice' });
    // A TOTP set-up in progress: its (sealed) secret must not reach the client.
    await services.store.twoFactor.setPendingTotpSecret(alice.id, 'sealed-pending-totp-secret');
    const client = await pool.connect(url);
    const out = await client.call('login', { user: { username: 'alice' }, password: meteorPassword('pw-alice') });
    const token = out.result.token as string;
    const added = client.eventsOf('users').filter((e) => e.msg === 'added');
    expect(added.map((e) => e.id)).to.deep.equal([alice.id]);
    expect(added[0]!.index).to.be.below(out.updatedIndex);
    const fields = added[0]!.fields!;
    expect(Object.keys(fields).sort()).to.deep.equal(['createdAt', 'emails', 'services', 'twoFactor', 'username']);
    expect(fields.username).to.equal('alice');
    expect(fields.emails).to.deep.equal([{ address: 'alice@example.com', verified: false }]);
    expect(fields.createdAt).to.be.instanceOf(Date);
    expect((fields.createdAt as Date).getTime()).to.equal(alice.createdAt.getTime());
    expect(fields.twoFactor).to.deep.equal({ totp: false, email: false });
    expect(fields.services).to.deep.equal({ password: { exists: true } });
    const stored = (await services.store.users.findById(alice.id))!;
    const docText = client.texts[added[0]!.index]!;
    for (const secret of [stored.passwordHash!, token, meteorHashedToken(token), 'sealed-pending-totp-secret', meteorPassword('pw-alice').digest]) {
      expect(docText).not.to.include(secret);
    }
  });

  it('answers a wrong password, an unknown user and a user without a password with byte-identical errors', async () => {
    const { services, url } = await startAccountsServer();
    await addUser(services, { username: 'alice', email: 'alice@example.com', password: 'pw-alice' });
    await addUser(services, { username: 'nopass', email: 'nopass@example.com' });
    const attempts: unknown[] = [
      { user: { username: 'alice' }, password: meteorPassword('wrong') },
      { user: { username: 'nobody' }, password: meteorPassword('wrong') },
      { user: { email: 'nobody@example.com' }, password: meteorPassword('wrong') },
      { user: 'alice', password: 'wrong' },
      { user: 'nobody', password: 'wrong' },
      { user: { username: 'nopass' }, password: meteorPassword('') },
    ];
    const raws: string[] = [];
    for (const attempt of attempts) {
      const out = await (await pool.connect(url)).callWithId('same-id', 'login', attempt);
      expect(out.error?.error).to.equal(403);
      expect(out.error?.reason).to.equal(LOGIN_FAILED);
      raws.push(out.raw);
    }
    expect(new Set(raws).size, raws.join('\n')).to.equal(1);
  });

  it('takes as long for an unknown user as for a wrong password, whatever the bcrypt cost', async function () {
    // The stand-in hash compared for an unknown user must have the configured cost, or the
    // answer time tells which usernames exist. Cost 12 is 4 times cost 10's work.
    const { services, url } = await startAccountsServer({ bcryptCost: 12 });
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    // Interleaved pairs, each on a fresh connection (the accounts rate limit counts per
    // connection), compared by their medians: a busy machine slows both sides of a pair alike,
    // where two runs one after the other could land on a quiet and a busy moment. A stand-in of
    // cost 10 would give a ratio near 0.25.
    const once = async (user: string): Promise<number> => {
      const client = await pool.connect(url);
      const start = performance.now();
      const out = await client.call('login', { user: { username: user }, password: meteorPassword('wrong') });
      expect(out.error?.error).to.equal(403);
      return performance.now() - start;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await once('alice'));
      unknown.push(await once('nobody'));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
    const wrongPassword = median(known);
    const unknownUser = median(unknown);
    const ratio = unknownUser / wrongPassword;
    expect(ratio, `unknown user ${unknownUser.toFixed(0)} ms, wrong password ${wrongPassword.toFixed(0)} ms`).to.be.within(0.5, 2);
  });

  it('resumes with the token on a new connection (type resume) and publishes the user there too', async () => {
    const { services, url } = await startAccountsServer();
    const alice = await addUser(services, { username: 'alice', password: 'pw-alice' });
    const first = await loginOn(await pool.connect(url), { username: 'alice' }, meteorPassword('pw-alice'));
    const other = await pool.connect(url);
    const out = await other.call('login', { resume: first.token });
    expect(out.result).to.deep.equal({ id: alice.id, token: first.token, tokenExpires: first.tokenExpires, type: 'resume' });
    const added = other.eventsOf('users').filter((e) => e.msg === 'added');
    expect(added.map((e) => e.id)).to.deep.equal([alice.id]);
    expect(added[0]!.index).to.be.below(out.updatedIndex);
    const bogus = await (await pool.connect(url)).call('login', { resume: 'not-a-token-anybody-was-given' });
    expect(bogus.error).to.include({ error: 403, reason: LOGGED_OUT });
  });

  it('expires session tokens after 90 days (manual clock) and removes the expired token', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ clock });
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    const { token } = await loginOn(await pool.connect(url), { username: 'alice' }, meteorPassword('pw-alice'));
    clock.advance(90 * DAY_MS - 1000);
    const before = await (await pool.connect(url)).call('login', { resume: token });
    expect(before.result?.type).to.equal('resume');
    clock.advance(1000);
    const late = await pool.connect(url);
    const after = await late.call('login', { resume: token });
    expect(after.error).to.include({ error: 403, reason: LOGGED_OUT });
    expect(late.eventsOf('users')).to.deep.equal([]);
    expect(await services.store.loginTokens.find(meteorHashedToken(token))).to.equal(null);
  });

  it('logout removes the token: the user document goes away and the token no longer resumes', async () => {
    const { services, url } = await startAccountsServer();
    const alice = await addUser(services, { username: 'alice', password: 'pw-alice' });
    const client = await pool.connect(url);
    const { token } = await loginOn(client, { username: 'alice' }, meteorPassword('pw-alice'));
    const mark = client.mark();
    const out = await client.call('logout');
    expect(out.error).to.equal(undefined);
    expect(client.eventsOf('users', mark).map((e) => [e.msg, e.id])).to.deep.equal([['removed', alice.id]]);
    expect(client.docs('users').size).to.equal(0);
    const again = await (await pool.connect(url)).call('login', { resume: token });
    expect(again.error).to.include({ error: 403, reason: LOGGED_OUT });
    expect(await services.store.loginTokens.find(meteorHashedToken(token))).to.equal(null);
  });

  it('getNewToken returns a new working token; with removeOtherTokens the old one stops working', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ clock });
    const alice = await addUser(services, { username: 'alice', password: 'pw-alice' });
    const client = await pool.connect(url);
    const first = await loginOn(client, { username: 'alice' }, meteorPassword('pw-alice'));
    clock.advance(DAY_MS);
    const out = await client.call('getNewToken');
    expect(out.error).to.equal(undefined);
    expect(out.result).to.have.all.keys('id', 'token', 'tokenExpires', 'type');
    expect(out.result.id).to.equal(alice.id);
    expect(out.result.token).to.be.a('string').and.not.equal(first.token);
    // Meteor: the new token has the same expiration as the connection's current one, so
    // refreshing a token never extends a session.
    expect(out.result.tokenExpires.getTime()).to.equal(first.tokenExpires.getTime());
    const resumed = await (await pool.connect(url)).call('login', { resume: out.result.token });
    expect(resumed.result).to.include({ id: alice.id, type: 'resume' });
    // Meteor's logoutOtherClients: getNewToken, then removeOtherTokens.
    expect((await client.call('removeOtherTokens')).error).to.equal(undefined);
    const old = await (await pool.connect(url)).call('login', { resume: first.token });
    expect(old.error).to.include({ error: 403, reason: LOGGED_OUT });
    const still = await (await pool.connect(url)).call('login', { resume: out.result.token });
    expect(still.result).to.include({ id: alice.id, type: 'resume' });
    const anonymous = await (await pool.connect(url)).call('getNewToken');
    expect(anonymous.error?.error).to.equal(401);
    // A connection whose token expired cannot refresh it into a new session.
    clock.advance(90 * DAY_MS);
    const late = await client.call('getNewToken');
    expect(late.error).to.include({ error: 403, reason: LOGGED_OUT });
  });

  it('removeOtherTokens closes the connections of the other tokens and keeps those of its own', async () => {
    const { services, url } = await startAccountsServer();
    const alice = await addUser(services, { username: 'alice', password: 'pw-alice' });
    await addUser(services, { username: 'bob', password: 'pw-bob' });
    const a = await pool.connect(url);
    const b = await pool.connect(url);
    const sameTokenAsA = await pool.connect(url);
    const bob = await pool.connect(url);
    const tokenA = (await loginOn(a, { username: 'alice' }, meteorPassword('pw-alice'))).token;
    const tokenB = (await loginOn(b, { username: 'alice' }, meteorPassword('pw-alice'))).token;
    expect((await sameTokenAsA.call('login', { resume: tokenA })).result?.type).to.equal('resume');
    await loginOn(bob, 'bob', 'pw-bob');
    expect((await a.call('removeOtherTokens')).error).to.equal(undefined);
    const closed = await b.closed;
    expect(closed.code).to.equal(1000);
    const stillOpen = await sameTokenAsA.call('login', { resume: tokenA });
    expect(stillOpen.result?.id).to.equal(alice.id);
    expect(a.isClosed || sameTokenAsA.isClosed || bob.isClosed).to.equal(false);
    const resumeB = await (await pool.connect(url)).call('login', { resume: tokenB });
    expect(resumeB.error).to.include({ error: 403, reason: LOGGED_OUT });
    const resumeA = await (await pool.connect(url)).call('login', { resume: tokenA });
    expect(resumeA.result?.id).to.equal(alice.id);
  });

  it('hands the store only hashes of login tokens (every store call recorded)', async () => {
    const recorded: string[] = [];
    const store = recordingStore(createMemoryStore(), recorded);
    const { services, url } = await startAccountsServer({ store });
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    const issued: string[] = [];
    const c1 = await pool.connect(url);
    issued.push((await loginOn(c1, { username: 'alice' }, meteorPassword('pw-alice'))).token);
    const c2 = await pool.connect(url);
    issued.push((await c2.call('login', { resume: issued[0] })).result.token);
    issued.push((await c2.call('getNewToken')).result.token);
    expect((await c2.call('removeOtherTokens')).error).to.equal(undefined);
    expect((await c2.call('logout')).error).to.equal(undefined);
    const c3 = await pool.connect(url);
    issued.push((await loginOn(c3, 'alice', 'pw-alice')).token);
    expect(recorded.length).to.be.above(10);
    const everything = recorded.join('\n');
    for (const token of issued) {
      expect(everything).not.to.include(token);
      // Positive control: the store did see the token, as Meteor's hash of it.
      expect(everything).to.include(meteorHashedToken(token));
    }
    expect(await services.store.loginTokens.find(meteorHashedToken(issued[3]!))).to.include({ hashedToken: meteorHashedToken(issued[3]!) });
  });

  it('never writes a raw login token to the SQLite database file', async () => {
    const dir = tempDir();
    const { services, url } = await startAccountsServer({ db: path.join(dir, 'db.sqlite') });
    expect(services.store.kind).to.equal('sqlite');
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await pool.connect(url);
      tokens.push((await loginOn(client, { username: 'alice' }, meteorPassword('pw-alice'))).token);
      tokens.push((await client.call('getNewToken')).result.token);
    }
    await pool.closeAll();
    await stopServers();
    const files = readdirSync(dir).filter((f) => f.startsWith('db.sqlite'));
    expect(files).to.include('db.sqlite');
    const bytes = Buffer.concat(files.map((f) => readFileSync(path.join(dir, f))));
    for (const token of tokens) {
      expect(bytes.includes(Buffer.from(token)), `raw token ${token} found in the database files`).to.equal(false);
      expect(bytes.includes(Buffer.from(meteorHashedToken(token))), 'the hashed token is stored').to.equal(true);
    }
  });
});

/** Wrap each sub-store so every call's arguments and results are recorded as JSON. */
function recordingStore(store: Store, recorded: string[]): Store {
  const wrap = <T extends object>(name: string, target: T): T =>
    new Proxy(target, {
      get(obj, key, receiver) {
        const value = Reflect.get(obj, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          recorded.push(`${name}.${String(key)} ${JSON.stringify(args)}`);
          const out = (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (out instanceof Promise) return out.then((v) => (recorded.push(`  -> ${JSON.stringify(v ?? null)}`), v));
          return out;
        };
      },
    });
  return {
    ...store,
    kind: store.kind,
    users: wrap('users', store.users),
    loginTokens: wrap('loginTokens', store.loginTokens),
    personalTokens: wrap('personalTokens', store.personalTokens),
    twoFactor: wrap('twoFactor', store.twoFactor),
    codes: wrap('codes', store.codes),
    attempts: wrap('attempts', store.attempts),
    audit: wrap('audit', store.audit),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
