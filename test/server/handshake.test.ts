import { expect } from 'chai';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import type { DdpServer } from '../../server/index.js';

describe('server: handshake', () => {
  let server: DdpServer;
  beforeEach(async () => {
    server = await startServer({}, (s) => {
      s.methods({ echo: (x: unknown) => x });
      s.publish('one', function () {
        this.added('things', 't1', { n: 1 });
        this.ready();
      });
    });
  });
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('greets with the msg-less {"server_id":"0"} first, and never sends msg:"server_id"', async () => {
    const client = await RawClient.connect(server.url);
    const greeting = await client.next();
    expect(client.texts[0]).to.equal('{"server_id":"0"}');
    expect(greeting).to.deep.equal({ server_id: '0' });
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await client.waitFor((m) => m.msg === 'connected');
    await client.call('echo', [1]);
    expect(client.messages.filter((m) => m.msg === 'server_id')).to.deep.equal([]);
    expect(client.messages.filter((m) => m.msg === undefined)).to.have.length(1);
  });

  it('answers connect with a new session id, ignoring a stale session and unknown fields', async () => {
    const connect = { msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'], session: 'StaleSessionId123', receivedCount: 7, extra: { x: 1 } };
    const a = await RawClient.handshake(server.url, {}, connect);
    const b = await RawClient.handshake(server.url, {}, connect);
    expect(a.session).to.be.a('string').with.length(17);
    expect(a.session).to.not.equal('StaleSessionId123');
    expect(b.session).to.not.equal(a.session);
    expect(Object.keys(a.messages.find((m) => m.msg === 'connected')!)).to.deep.equal(['msg', 'session']);
    expect((await a.call('echo', ['ok'])).result).to.equal('ok');
  });

  const accepted: [string, Record<string, unknown>][] = [
    ['1 among all three', { version: '1', support: ['1', 'pre2', 'pre1'] }],
    ['pre2 preferred by the client', { version: 'pre2', support: ['pre2', '1'] }],
    ['pre1 alone', { version: 'pre1', support: ['pre1'] }],
    ['pre1 after an unknown version', { version: 'pre1', support: ['2', 'pre1'] }],
  ];
  for (const [name, fields] of accepted) {
    it(`connects with ${name}`, async () => {
      const client = await RawClient.connect(server.url);
      client.send({ msg: 'connect', ...fields });
      const reply = await client.waitFor((m) => m.msg === 'connected' || m.msg === 'failed');
      expect(reply.msg).to.equal('connected');
    });
  }

  const failed: [string, Record<string, unknown>, string][] = [
    ["'pre1' while the client also supports '1' (Meteor negotiates '1')", { version: 'pre1', support: ['1', 'pre1'] }, '1'],
    ["'pre2' while the client prefers '1'", { version: 'pre2', support: ['1', 'pre2'] }, '1'],
    ['an unsupported version', { version: '2', support: ['2'] }, '1'],
    ['a version missing from its own support list', { version: '1', support: ['pre1'] }, '1'],
    ['no version or support at all', {}, '1'],
    ['a non-array support', { version: '1', support: '1' }, '1'],
  ];
  for (const [name, fields, version] of failed) {
    it(`fails ${name} with {version:'${version}'} and closes`, async () => {
      const client = await RawClient.connect(server.url);
      client.send({ msg: 'connect', ...fields });
      const { code } = await client.closed;
      expect(client.messageTexts).to.deep.equal(['{"server_id":"0"}', `{"msg":"failed","version":"${version}"}`]);
      expect(code).to.equal(1000);
    });
  }

  it('handles messages pipelined right after connect, in order', async () => {
    const client = await RawClient.connect(server.url);
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    client.send({ msg: 'method', method: 'echo', params: [1], id: 'a' });
    client.send({ msg: 'sub', id: 's', name: 'one', params: [] });
    client.send({ msg: 'method', method: 'echo', params: [2], id: 'b' });
    await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === 'b');
    const seen = client.messages.slice(1).map((m) => `${m.msg as string}:${String(m.id ?? m.methods ?? m.subs ?? '')}`);
    expect(seen).to.deep.equal(['connected:', 'result:a', 'updated:a', 'added:t1', 'ready:s', 'result:b', 'updated:b']);
    expect(client.messages[4]).to.deep.equal({ msg: 'added', collection: 'things', id: 't1', fields: { n: 1 } });
  });

  it("answers anything before connect with 'Must connect first', then connects", async () => {
    const client = await RawClient.connect(server.url);
    const method = { msg: 'method', method: 'echo', params: [1], id: '1' };
    client.send(method);
    client.send({ msg: 'ping', id: 'p' });
    client.send({ msg: 'sub', id: 's', name: 'one', params: [] });
    for (const offending of [method, { msg: 'ping', id: 'p' }, { msg: 'sub', id: 's', name: 'one', params: [] }]) {
      expect(await client.waitFor((m) => m.msg === 'error')).to.deep.equal({ msg: 'error', reason: 'Must connect first', offendingMessage: offending });
    }
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await client.waitFor((m) => m.msg === 'connected');
    expect((await client.call('echo', [5])).result).to.equal(5);
    expect(client.messages.filter((m) => m.msg === 'result')).to.have.length(1);
  });

  it("answers a second connect with 'Already connected' and keeps the session", async () => {
    const client = await RawClient.handshake(server.url);
    const first = client.session;
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    expect(await client.next()).to.deep.equal({ msg: 'error', reason: 'Already connected', offendingMessage: { msg: 'connect', version: '1', support: ['1'] } });
    expect((await client.call('echo', ['still here'])).result).to.equal('still here');
    expect(client.messages.filter((m) => m.msg === 'connected').map((m) => m.session)).to.deep.equal([first]);
  });

  it('ends the session at once on a client disconnect message', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'disconnect' });
    expect((await client.closed).code).to.equal(1000);
  });
});
