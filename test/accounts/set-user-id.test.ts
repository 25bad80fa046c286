import { expect } from 'chai';
import { stopServers } from '../helpers/server.js';
import { ClientPool, type DocEvent } from '../helpers/ddp.js';
import { addUser, meteorPassword, startAccountsServer } from './support.js';

/** `[msg, id, fields]` of each event, sorted by id, for order-free comparison. */
function summary(events: DocEvent[]): unknown[] {
  return events
    .map((e) => [e.msg, e.id, e.fields ?? null, e.cleared ?? null])
    .sort((x, y) => String(x[1]).localeCompare(String(y[1])));
}

describe('accounts: setUserId reruns publications', function () {
  const pool = new ClientPool();
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
  });

  it('reruns a publication that depends on this.userId after login and logout, sending only the difference', async () => {
    const runs: (string | null)[] = [];
    const { services, url } = await startAccountsServer({}, (server) => {
      server.publish('board', function () {
        runs.push(this.userId);
        this.added('items', 'shared', { title: 'welcome', viewer: this.userId ?? 'anonymous' });
        if (this.userId === null) this.added('items', 'teaser', { title: 'sign in to see more' });
        else this.added('items', `notes-${this.userId}`, { title: 'your notes' });
        this.ready();
      });
    });
    const alice = await addUser(services, { username: 'alice', password: 'pw-alice' });
    const client = await pool.connect(url);
    const ready = await client.subscribe('board');
    expect(ready.msg).to.equal('ready');
    const initial = new Map(client.docs('items'));
    expect([...initial.keys()].sort()).to.deep.equal(['shared', 'teaser']);

    const beforeLogin = client.mark();
    const login = await client.call('login', { user: { username: 'alice' }, password: meteorPassword('pw-alice') });
    expect(login.result?.type).to.equal('password');
    const afterLogin = client.eventsOf('items', beforeLogin);
    expect(summary(afterLogin)).to.deep.equal([
      ['added', `notes-${alice.id}`, { title: 'your notes' }, null],
      ['changed', 'shared', { viewer: alice.id }, null],
      ['removed', 'teaser', null, null],
    ]);
    // The difference reaches the client before the login's `updated`, as in Meteor.
    for (const e of afterLogin) expect(e.index).to.be.below(login.updatedIndex);
    // No second `ready` for the rerun subscription.
    expect(client.log.slice(beforeLogin).filter((m) => m.msg === 'ready')).to.deep.equal([]);

    const beforeLogout = client.mark();
    const logout = await client.call('logout');
    expect(logout.error).to.equal(undefined);
    const afterLogout = client.eventsOf('items', beforeLogout);
    expect(summary(afterLogout)).to.deep.equal([
      ['removed', `notes-${alice.id}`, null, null],
      ['changed', 'shared', { viewer: 'anonymous' }, null],
      ['added', 'teaser', { title: 'sign in to see more' }, null],
    ]);
    for (const e of afterLogout) expect(e.index).to.be.below(logout.updatedIndex);
    expect(client.docs('items')).to.deep.equal(initial);
    expect(runs).to.deep.equal([null, alice.id, null]);
  });

  it('does not rerun anything when the same user logs in again on the connection', async () => {
    let runs = 0;
    const { services, url } = await startAccountsServer({}, (server) => {
      server.publish('counter', function () {
        runs++;
        this.added('items', 'me', { userId: this.userId });
        this.ready();
      });
    });
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    const client = await pool.connect(url);
    await client.subscribe('counter');
    const first = await client.call('login', { user: 'alice', password: 'pw-alice' });
    expect(runs).to.equal(2);
    const mark = client.mark();
    const again = await client.call('login', { resume: first.result.token });
    expect(again.result?.type).to.equal('resume');
    expect(runs).to.equal(2);
    expect(client.eventsOf('items', mark)).to.deep.equal([]);
    expect(client.eventsOf('users', mark)).to.deep.equal([]);
  });
});
