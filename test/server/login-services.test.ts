/**
 * Meteor's `meteor.loginServiceConfiguration`: Meteor-style clients (Meteor's own, asteroid, the
 * Rocket.Chat SDK's driver) subscribe to it on connect, before any login. It answers `ready`
 * with no documents (ddp-guard has no OAuth services), never a 404 `nosub`.
 */
import { expect } from 'chai';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import type { GuardServer } from '../../server/index.js';

describe('server: meteor.loginServiceConfiguration', () => {
  let server: GuardServer;

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('answers a subscription before login with ready and no documents; unsub with nosub', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'lsc', name: 'meteor.loginServiceConfiguration', params: [] });
    expect(await client.next()).to.deep.equal({ msg: 'ready', subs: ['lsc'] });
    client.send({ msg: 'unsub', id: 'lsc' });
    expect(await client.next()).to.deep.equal({ msg: 'nosub', id: 'lsc' });
    await client.sync();
    expect(client.messages.filter((m) => m.msg === 'added' || m.msg === 'nosub' && m.error !== undefined)).to.deep.equal([]);
  });

  it('answers each new subscription id (Meteor\'s client subscribes again after a reconnect)', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'lsc', name: 'meteor.loginServiceConfiguration', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    client.send({ msg: 'sub', id: 'lsc2', name: 'meteor.loginServiceConfiguration', params: [] });
    expect(await client.next()).to.deep.equal({ msg: 'ready', subs: ['lsc2'] });
  });
});
