import { expect } from 'chai';
import { ManualClock } from '../../server/index.js';
import { startServer, stopServers } from '../helpers/server.js';
import { ClientPool } from '../helpers/ddp.js';
import { addUser, meteorPassword, T0 } from './support.js';

describe('accounts: the default rate limit', function () {
  const pool = new ClientPool();
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
  });

  it('refuses the 6th login within 10 s on one connection, not on another, and forgets after 10 s', async () => {
    const clock = new ManualClock(T0);
    // No accounts option: Meteor's rule, 5 calls per 10 s per connection.
    const server = await startServer({ clock });
    const services = await server.services.get();
    await addUser(services, { username: 'alice', password: 'pw-alice' });
    const busy = await pool.connect(server.url);
    for (let i = 0; i < 5; i++) {
      const out = await busy.call('login', { user: 'alice', password: meteorPassword(i % 2 === 0 ? 'wrong' : 'pw-alice') });
      expect(out.error?.error === 'too-many-requests', `login ${i + 1}`).to.equal(false);
      clock.advance(1000);
    }
    const sixth = await busy.call('login', { user: 'alice', password: meteorPassword('pw-alice') });
    expect(sixth.error?.error).to.equal('too-many-requests');
    // The window started with the first call, 5 s ago.
    expect(sixth.error?.details).to.deep.equal({ timeToReset: 5000 });
    expect(sixth.error?.reason).to.equal('Error, too many requests. Please slow down. You must wait 5 seconds before trying again.');

    const fresh = await pool.connect(server.url);
    const elsewhere = await fresh.call('login', { user: 'alice', password: meteorPassword('pw-alice') });
    expect(elsewhere.result?.type).to.equal('password');

    // Other methods on the busy connection are not counted by the accounts rule.
    expect((await busy.call('nope')).error?.error).to.equal(404);
    clock.advance(5000);
    const later = await busy.call('login', { user: 'alice', password: meteorPassword('pw-alice') });
    expect(later.result?.type).to.equal('password');
  });
});
