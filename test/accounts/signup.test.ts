import { expect } from 'chai';
import { stopServers } from '../helpers/server.js';
import { ClientPool } from '../helpers/ddp.js';
import { meteorPassword, removeTempDirs, startAccountsServer, tempDir } from './support.js';

describe('accounts: createUser', function () {
  const pool = new ClientPool();
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
    removeTempDirs();
  });

  it("is refused with 403 'Signups forbidden' by default and creates nothing", async () => {
    const { services, url } = await startAccountsServer({ outboxDir: tempDir() });
    const client = await pool.connect(url);
    const out = await client.call('createUser', { username: 'bob', email: 'bob@example.com', password: meteorPassword('pw-bob-long') });
    expect(out.error).to.include({ error: 403, reason: 'Signups forbidden' });
    expect(await services.store.users.list()).to.deep.equal([]);
    expect(client.eventsOf('users')).to.deep.equal([]);
  });

  it('with signup on, creates the user, logs the caller in and stores a Meteor-compatible password', async () => {
    const { services, url } = await startAccountsServer({ signup: true, outboxDir: tempDir() });
    const client = await pool.connect(url);
    const out = await client.call('createUser', { username: 'bob', email: 'bob@example.com', password: meteorPassword('pw-bob-long'), profile: { name: 'Bob' } });
    expect(out.error, JSON.stringify(out.error)).to.equal(undefined);
    expect(out.result).to.have.all.keys('id', 'token', 'tokenExpires', 'type');
    expect(out.result.type).to.equal('password');
    const stored = await services.store.users.findByUsername('bob');
    expect(stored?.id).to.equal(out.result.id);
    expect(stored?.emails).to.deep.equal([{ address: 'bob@example.com', verified: false }]);
    const doc = client.eventsOf('users').find((e) => e.msg === 'added');
    expect(doc?.id).to.equal(out.result.id);
    expect(doc!.index).to.be.below(out.updatedIndex);
    expect(doc?.fields?.profile).to.deep.equal({ name: 'Bob' });
    // The digest a Meteor client sends verifies, and so does the plain password.
    const viaDigest = await (await pool.connect(url)).call('login', { user: { email: 'bob@example.com' }, password: meteorPassword('pw-bob-long') });
    expect(viaDigest.result?.id).to.equal(out.result.id);
    const viaPlain = await (await pool.connect(url)).call('login', { user: 'bob', password: 'pw-bob-long' });
    expect(viaPlain.result?.id).to.equal(out.result.id);
    const resumed = await (await pool.connect(url)).call('login', { resume: out.result.token });
    expect(resumed.result).to.include({ id: out.result.id, type: 'resume' });
  });

  it('refuses a taken username (any case) or email with a clear 403 and does not log the caller in', async () => {
    const { services, url } = await startAccountsServer({ signup: true, outboxDir: tempDir() });
    const first = await (await pool.connect(url)).call('createUser', { username: 'bob', email: 'bob@example.com', password: 'pw-bob-long' });
    expect(first.result?.type).to.equal('password');
    const client = await pool.connect(url);
    const sameName = await client.call('createUser', { username: 'BOB', email: 'other@example.com', password: 'pw-robert-1' });
    expect(sameName.error).to.include({ error: 403, reason: 'Username already exists.' });
    const sameEmail = await client.call('createUser', { username: 'robert', email: 'Bob@Example.com', password: 'pw-robert-1' });
    expect(sameEmail.error).to.include({ error: 403, reason: 'Email already exists.' });
    expect((await services.store.users.list()).map((u) => u.username)).to.deep.equal(['bob']);
    expect(client.eventsOf('users')).to.deep.equal([]);
    const notLoggedIn = await client.call('getNewToken');
    expect(notLoggedIn.error?.error).to.equal(401);
  });
});
