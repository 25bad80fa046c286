import { expect } from 'chai';
import { captureLogger, gate, startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient, type Msg } from '../helpers/raw-client.js';
import { DdpError, type DdpServer, type SubscriptionThis } from '../../server/index.js';

/** Data messages after the cursor, as compact strings. */
const data = (messages: Msg[]): Msg[] => messages.filter((m) => ['added', 'changed', 'removed', 'ready', 'nosub'].includes(m.msg as string));

describe('server: publications', () => {
  /** The `this` of each running publication, by subscription id. */
  let handles: Map<string, SubscriptionThis>;
  let server: DdpServer;
  let logs: ReturnType<typeof captureLogger>;
  let stops: string[];

  beforeEach(async () => {
    handles = new Map();
    stops = [];
    logs = captureLogger();
    server = await startServer({ logger: logs.logger, maxSubscriptions: 3 }, (s) => {
      s.publish('items', function (prefix: string = 'i') {
        handles.set(this.subscriptionId!, this);
        this.onStop(() => stops.push(this.subscriptionId!));
        this.added('items', `${prefix}1`, { n: 1, tag: 'a' });
        this.added('items', `${prefix}2`, { n: 2, when: new Date(2) });
        this.ready();
      });
      s.publish('shared', function (fields: Record<string, unknown>) {
        handles.set(this.subscriptionId!, this);
        this.added('docs', 'd1', fields);
        this.ready();
      });
      s.publish('refused', function () {
        throw new DdpError('not-allowed', 'Not for you', { reason: 'test' });
      });
      s.publish('crashes', async function () {
        await Promise.resolve();
        throw new Error('secret publication failure');
      });
      s.publish('failsLater', function () {
        handles.set(this.subscriptionId!, this);
        this.added('items', 'late', { x: 1 });
        this.ready();
      });
      s.publish('byUser', function () {
        this.added('profile', 'common', this.userId ? { a: 1, user: this.userId } : { a: 1 });
        if (this.userId === 'u1') this.added('secrets', 's1', { v: 'for u1' });
        if (this.userId === null) this.added('public', 'p1', { v: 'anonymous only' });
        this.ready();
      });
      s.publish('afterLogin', function () {
        if (this.userId === null) return; // waits for a login, not ready yet
        this.added('mine', 'x', { owner: this.userId });
        this.ready();
      });
      s.publish('source', function () {
        return {
          publishTo(sink: { added(c: string, id: string, f: Record<string, unknown>): void }) {
            sink.added('cursor', 'c1', { from: 'source' });
            return { stop: () => stops.push('source') };
          },
        };
      });
      s.methods({
        'test.setUser'(userId: string | null) {
          return this.setUserId(userId);
        },
      });
    });
  });

  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('sends added for each document, then ready; EJSON in fields', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'items', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    expect(data(client.messages)).to.deep.equal([
      { msg: 'added', collection: 'items', id: 'i1', fields: { n: 1, tag: 'a' } },
      { msg: 'added', collection: 'items', id: 'i2', fields: { n: 2, when: new Date(2) } },
      { msg: 'ready', subs: ['s1'] },
    ]);
    expect(client.messageTexts).to.include('{"msg":"added","collection":"items","id":"i2","fields":{"n":2,"when":{"$date":2}}}');
  });

  it('sends changed and removed as the publication writes, with cleared fields', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'items', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    const sub = handles.get('s1')!;
    sub.changed('items', 'i1', { n: 10, tag: undefined });
    sub.changed('items', 'i1', { n: 10 }); // same value: nothing to send
    sub.removed('items', 'i2');
    await client.sync();
    expect(data(client.unread)).to.deep.equal([
      { msg: 'changed', collection: 'items', id: 'i1', fields: { n: 10 }, cleared: ['tag'] },
      { msg: 'removed', collection: 'items', id: 'i2' },
    ]);
  });

  it('answers unsub with removed for its documents, then nosub, and stops the publication', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'items', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    client.send({ msg: 'unsub', id: 's1' });
    await client.waitFor((m) => m.msg === 'nosub');
    expect(data(client.messages).slice(3)).to.deep.equal([
      { msg: 'removed', collection: 'items', id: 'i1' },
      { msg: 'removed', collection: 'items', id: 'i2' },
      { msg: 'nosub', id: 's1' },
    ]);
    expect(stops).to.deep.equal(['s1']);
    // Writes after the stop are ignored.
    handles.get('s1')!.added('items', 'ghost', {});
    await client.sync();
    expect(client.messages.some((m) => m.id === 'ghost')).to.equal(false);
  });

  it("answers an unknown publication with nosub 404 Subscription 'x' not found", async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'nope', params: [] });
    expect(await client.next()).to.deep.equal({ msg: 'nosub', id: 's1', error: { isClientSafe: true, error: 404, reason: "Subscription 'nope' not found", message: "Subscription 'nope' not found [404]", errorType: 'Meteor.Error' } });
  });

  it('ignores a repeated sub id', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'items', params: [] });
    client.send({ msg: 'sub', id: 's1', name: 'items', params: ['other'] });
    await client.sync();
    expect(data(client.messages).map((m) => `${m.msg as string}:${String(m.id ?? m.subs)}`)).to.deep.equal(['added:i1', 'added:i2', 'ready:s1']);
  });

  it('refuses subscriptions past maxSubscriptions', async () => {
    const client = await RawClient.handshake(server.url);
    for (const id of ['a', 'b', 'c', 'd']) client.send({ msg: 'sub', id, name: 'items', params: [id] });
    const nosub = await client.waitFor((m) => m.msg === 'nosub');
    expect(nosub.id).to.equal('d');
    expect(nosub.error).to.deep.include({ error: 'too-many-subscriptions' });
    expect(client.messages.filter((m) => m.msg === 'ready').map((m) => m.subs[0])).to.deep.equal(['a', 'b', 'c']);
    client.send({ msg: 'unsub', id: 'a' });
    client.send({ msg: 'sub', id: 'e', name: 'items', params: ['e'] });
    expect((await client.waitFor((m) => m.msg === 'ready')).subs).to.deep.equal(['e']);
  });

  describe('merge box', () => {
    it('sends one added for a document two subscriptions publish, and only visible changes', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 'A', name: 'shared', params: [{ a: 1, both: 'from A' }] });
      await client.waitFor((m) => m.msg === 'ready');
      client.send({ msg: 'sub', id: 'B', name: 'shared', params: [{ b: 2, both: 'from B' }] });
      await client.waitFor((m) => m.msg === 'ready');
      expect(data(client.messages)).to.deep.equal([
        { msg: 'added', collection: 'docs', id: 'd1', fields: { a: 1, both: 'from A' } },
        { msg: 'ready', subs: ['A'] },
        { msg: 'changed', collection: 'docs', id: 'd1', fields: { b: 2 } },
        { msg: 'ready', subs: ['B'] },
      ]);

      const [A, B] = [handles.get('A')!, handles.get('B')!];
      B.changed('docs', 'd1', { both: 'B again' }); // hidden behind A's value
      A.changed('docs', 'd1', { both: 'from A' }); // same value
      B.changed('docs', 'd1', { b: 2 }); // same value
      A.changed('docs', 'd1', { a: 5 });
      await client.sync();
      expect(data(client.unread)).to.deep.equal([{ msg: 'changed', collection: 'docs', id: 'd1', fields: { a: 5 } }]);

      client.send({ msg: 'unsub', id: 'A' });
      await client.waitFor((m) => m.msg === 'nosub');
      expect(data(client.messages).slice(-2)).to.deep.equal([
        { msg: 'changed', collection: 'docs', id: 'd1', fields: { both: 'B again' }, cleared: ['a'] },
        { msg: 'nosub', id: 'A' },
      ]);

      client.send({ msg: 'unsub', id: 'B' });
      await client.waitFor((m) => m.msg === 'nosub');
      expect(data(client.messages).slice(-2)).to.deep.equal([
        { msg: 'removed', collection: 'docs', id: 'd1' },
        { msg: 'nosub', id: 'B' },
      ]);
    });

    it('never sends changed or removed for a document the client was not sent', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'items', params: [] });
      await client.waitFor((m) => m.msg === 'ready');
      const sub = handles.get('s1')!;
      sub.changed('items', 'unknown', { n: 1 });
      sub.removed('items', 'unknown');
      sub.added('items', 'i1', { again: true });
      await client.sync();
      expect(data(client.unread)).to.deep.equal([]);
      await logs.waitFor((l) => l.level === 'error' && l.message.includes('inconsistently'));
    });
  });

  describe('errors', () => {
    it('ends a publication that throws a DdpError with nosub carrying it', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'refused', params: [] });
      expect(await client.next()).to.deep.equal({ msg: 'nosub', id: 's1', error: { isClientSafe: true, error: 'not-allowed', reason: 'Not for you', details: { reason: 'test' }, message: 'Not for you [not-allowed]', errorType: 'Meteor.Error' } });
    });

    it('ends a publication that crashes with nosub 500, logging the real error', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'crashes', params: [] });
      const nosub = await client.next();
      expect(nosub.error).to.deep.include({ error: 500, reason: 'Internal server error' });
      expect(client.messageTexts.join()).to.not.include('secret');
      await logs.waitFor((l) => JSON.stringify(l.fields).includes('secret publication failure'));
    });

    it('on this.error after documents: removed, then nosub with the error; the session goes on', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'failsLater', params: [] });
      await client.waitFor((m) => m.msg === 'ready');
      handles.get('s1')!.error(new DdpError('gone', 'Source went away'));
      await client.waitFor((m) => m.msg === 'nosub');
      expect(data(client.messages).slice(-2)).to.deep.equal([
        { msg: 'removed', collection: 'items', id: 'late' },
        { msg: 'nosub', id: 's1', error: { isClientSafe: true, error: 'gone', reason: 'Source went away', message: 'Source went away [gone]', errorType: 'Meteor.Error' } },
      ]);
      client.send({ msg: 'sub', id: 's2', name: 'items', params: [] });
      await client.waitFor((m) => m.msg === 'ready');
    });

    it('on this.stop(): removed, then nosub without error', async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'failsLater', params: [] });
      await client.waitFor((m) => m.msg === 'ready');
      handles.get('s1')!.stop();
      expect(await client.next()).to.deep.equal({ msg: 'removed', collection: 'items', id: 'late' });
      expect(await client.next()).to.deep.equal({ msg: 'nosub', id: 's1' });
    });
  });

  it('starts a returned source, sends ready by itself and stops the source on unsub', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'source', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    expect(data(client.messages)[0]).to.deep.equal({ msg: 'added', collection: 'cursor', id: 'c1', fields: { from: 'source' } });
    client.send({ msg: 'unsub', id: 's1' });
    await client.waitFor((m) => m.msg === 'nosub');
    expect(stops).to.deep.equal(['source']);
  });

  it('reruns subscriptions after this.setUserId and sends only the difference', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's1', name: 'byUser', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    expect(data(client.messages)).to.deep.equal([
      { msg: 'added', collection: 'profile', id: 'common', fields: { a: 1 } },
      { msg: 'added', collection: 'public', id: 'p1', fields: { v: 'anonymous only' } },
      { msg: 'ready', subs: ['s1'] },
    ]);
    let mark = client.mark();
    await client.call('test.setUser', ['u1'], 'in');
    const login = data(client.since(mark));
    expect(login).to.have.deep.members([
      { msg: 'changed', collection: 'profile', id: 'common', fields: { user: 'u1' } },
      { msg: 'added', collection: 'secrets', id: 's1', fields: { v: 'for u1' } },
      { msg: 'removed', collection: 'public', id: 'p1' },
    ]);
    expect(login).to.have.length(3);
    mark = client.mark();
    await client.call('test.setUser', ['u1'], 'same');
    expect(data(client.since(mark))).to.deep.equal([]);
    await client.call('test.setUser', [null], 'out');
    expect(data(client.since(mark))).to.have.deep.members([
      { msg: 'changed', collection: 'profile', id: 'common', cleared: ['user'] },
      { msg: 'removed', collection: 'secrets', id: 's1' },
      { msg: 'added', collection: 'public', id: 'p1', fields: { v: 'anonymous only' } },
    ]);
    expect(client.messages.filter((m) => m.msg === 'ready')).to.have.length(1);
  });

  it('sends ready for a subscription that becomes ready on a rerun only after its documents', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'w', name: 'afterLogin', params: [] });
    await client.sync();
    expect(data(client.messages)).to.deep.equal([]);
    const mark = client.mark();
    await client.call('test.setUser', ['u2']);
    expect(data(client.since(mark))).to.deep.equal([
      { msg: 'added', collection: 'mine', id: 'x', fields: { owner: 'u2' } },
      { msg: 'ready', subs: ['w'] },
    ]);
  });

  it('publishes a universal publication (name null) to every connection without sub or ready', async () => {
    const seen = gate();
    await stopServers();
    const universal = await startServer({}, (s) => {
      s.publish(null, function () {
        this.added('meta', 'm1', { version: 1, user: this.userId });
        seen.open();
      });
      s.methods({ 'test.setUser'(id: string) { return this.setUserId(id); } });
    });
    const client = await RawClient.handshake(universal.url);
    await seen.promise;
    expect(await client.next()).to.deep.equal({ msg: 'added', collection: 'meta', id: 'm1', fields: { version: 1, user: null } });
    await client.call('test.setUser', ['u9']);
    expect(data(client.messages)).to.deep.equal([
      { msg: 'added', collection: 'meta', id: 'm1', fields: { version: 1, user: null } },
      { msg: 'changed', collection: 'meta', id: 'm1', fields: { user: 'u9' } },
    ]);
    // Ours, and the own-user publication every ddp-guard server has.
    expect(universal.stats().subscriptions).to.equal(2);
  });
});
