/**
 * Streams in one process, over real sockets: Rocket.Chat's exact frames, the read and emit
 * rules, client emits, unsubscribe, the rerun after a login change, and no listener left behind
 * by closed connections.
 */
import { expect } from 'chai';
import { ClientPool, type DdpClient, type Msg } from '../helpers/ddp.js';
import { startServer, stopServers } from '../helpers/server.js';
import type { GuardServer, Stream, StreamRuleContext } from '../../server/index.js';

const ROOM = 'stream-room-messages';

/** Stream frames of `collection` received since `from`. */
function streamFrames(client: DdpClient, from: number, collection = ROOM): Msg[] {
  return client.log.slice(from).filter((m) => m.msg === 'changed' && m.collection === collection);
}

/**
 * A round trip on `client`'s own socket: the server wrote every frame of an emit made before
 * this call ahead of the call's result, so what has not arrived by then never will.
 */
async function roundTrip(client: DdpClient): Promise<void> {
  const outcome = await client.call('test.ping');
  expect(outcome.result).to.equal('pong');
}

async function waitUntil(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('streams (one process)', () => {
  const pool = new ClientPool();
  let server: GuardServer;
  let room: Stream;
  let typing: Stream;
  let echo: Stream;
  let guarded: Stream;
  /** What the read rule of `guarded` was called with. */
  let readCalls: { self: StreamRuleContext; userId: string | null; eventName: string; args: unknown[] }[];

  beforeEach(async () => {
    readCalls = [];
    server = await startServer({}, (s) => {
      room = s.stream('room-messages');
      // Clients may emit typing notices, as Rocket.Chat's notify-room allows.
      typing = s.stream('notify-room', { read: 'all', emit: (userId, eventName) => userId !== null && eventName.endsWith('/typing') });
      echo = s.stream('echo', { read: 'all', emit: 'all', retransmitToSelf: true });
      guarded = s.stream('guarded', {
        read(userId, eventName, args) {
          readCalls.push({ self: this, userId, eventName, args });
          return Promise.resolve(userId === 'alice' && args[0] === 'let-me-in');
        },
      });
      s.methods({
        'test.as': function (userId: string | null) {
          return this.setUserId(userId);
        },
        'test.ping': () => 'pong',
      });
    });
  });

  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
  });

  async function loggedIn(userId: string): Promise<DdpClient> {
    const client = await pool.connect(server.url);
    expect((await client.call('test.as', userId)).error).to.equal(undefined);
    return client;
  }

  it("sends each event as Rocket.Chat does: `changed` of document 'id' in stream-<name>, byte for byte", async () => {
    const client = await loggedIn('alice');
    const ready = await client.subscribe(ROOM, 'GENERAL', { useCollection: false, args: [] });
    expect(ready.msg).to.equal('ready');
    const from = client.mark();
    room.emit('GENERAL', { _id: 'm1', msg: 'hello', ts: new Date(Date.UTC(2030, 0, 1)) });
    await client.waitFor((m) => m.msg === 'changed', 2000, from);
    const index = client.log.findIndex((m, i) => i >= from && m.msg === 'changed');
    expect(client.texts[index]).to.equal(
      '{"msg":"changed","collection":"stream-room-messages","id":"id","fields":{"eventName":"GENERAL","args":[{"_id":"m1","msg":"hello","ts":{"$date":1893456000000}}]}}',
    );
  });

  it('delivers repeated identical events (no merge box), never sends `added`, and only for the subscribed event name', async () => {
    const client = await loggedIn('alice');
    // The older clients' form: a boolean instead of the options object.
    expect((await client.subscribe(ROOM, 'GENERAL', false)).msg).to.equal('ready');
    const from = client.mark();
    room.emit('GENERAL', 'same');
    room.emit('GENERAL', 'same');
    room.emit('random', 'not subscribed');
    room.emit('GENERAL', 1, 2, 3);
    await roundTrip(client);
    const frames = streamFrames(client, from);
    expect(frames.map((m) => m.fields)).to.deep.equal([
      { eventName: 'GENERAL', args: ['same'] },
      { eventName: 'GENERAL', args: ['same'] },
      { eventName: 'GENERAL', args: [1, 2, 3] },
    ]);
    expect(client.log.some((m) => m.msg === 'added' && m.collection === ROOM)).to.equal(false);
  });

  it('refuses a reader the read rule refuses: nosub with not-allowed, and no events', async () => {
    // Default rule: logged-in users only.
    const anonymous = await pool.connect(server.url);
    const refused = await anonymous.subscribe(ROOM, 'GENERAL', { useCollection: false, args: [] });
    expect(refused.msg).to.equal('nosub');
    expect(refused.error).to.deep.include({ isClientSafe: true, error: 'not-allowed', errorType: 'Meteor.Error' });
    expect(refused.error.reason).to.match(/read 'GENERAL' events of stream-room-messages/);

    // A rule function: given the user, the event name and the subscription's options.args.
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    expect((await alice.subscribe('stream-guarded', 'secrets', { useCollection: false, args: ['let-me-in'] })).msg).to.equal('ready');
    expect((await alice.subscribe('stream-guarded', 'secrets', { useCollection: false, args: ['wrong'] })).msg).to.equal('nosub');
    expect((await bob.subscribe('stream-guarded', 'secrets', { useCollection: false, args: ['let-me-in'] })).error?.error).to.equal('not-allowed');
    expect(readCalls.map((c) => [c.userId, c.eventName, c.args])).to.deep.equal([
      ['alice', 'secrets', ['let-me-in']],
      ['alice', 'secrets', ['wrong']],
      ['bob', 'secrets', ['let-me-in']],
    ]);
    expect(readCalls[0]!.self.connection?.id).to.equal(alice.session);

    const from = { anonymous: anonymous.mark(), bob: bob.mark(), alice: alice.mark() };
    room.emit('GENERAL', 'x');
    guarded.emit('secrets', 'for alice');
    await Promise.all([roundTrip(anonymous), roundTrip(bob), roundTrip(alice)]);
    expect(streamFrames(anonymous, from.anonymous)).to.have.length(0);
    expect(streamFrames(bob, from.bob, 'stream-guarded')).to.have.length(0);
    expect(streamFrames(alice, from.alice, 'stream-guarded').map((m) => m.fields)).to.deep.equal([{ eventName: 'secrets', args: ['for alice'] }]);
    expect(guarded.listenerCount).to.equal(1);
  });

  it('refuses bad parameters: an empty or overlong event name, options that are neither an object nor a boolean', async () => {
    const client = await loggedIn('alice');
    expect((await client.subscribe(ROOM, '')).error?.error).to.equal('invalid-event-name');
    expect((await client.subscribe(ROOM, 'x'.repeat(257))).error?.error).to.equal('invalid-event-name');
    expect((await client.subscribe(ROOM, 42)).error?.error).to.equal('invalid-event-name');
    expect((await client.subscribe(ROOM, 'GENERAL', 'yes')).error).to.deep.include({ error: 400, reason: 'Match failed' });
    expect((await client.subscribe(ROOM, 'GENERAL', { args: 'not a list' })).error).to.deep.include({ error: 400 });
    expect(room.listenerCount).to.equal(0);
  });

  it('client emits: refused by default; allowed by the emit rule, to the other subscribers only', async () => {
    const alice = await loggedIn('alice');
    const bob = await loggedIn('bob');
    expect((await alice.subscribe(ROOM, 'GENERAL')).msg).to.equal('ready');
    expect((await bob.subscribe(ROOM, 'GENERAL')).msg).to.equal('ready');
    const fromAlice = alice.mark();
    const refused = await bob.call(ROOM, 'GENERAL', { msg: 'forged' });
    expect(refused.error).to.deep.include({ error: 'not-allowed', isClientSafe: true });
    await roundTrip(alice);
    expect(streamFrames(alice, fromAlice)).to.have.length(0);

    expect((await alice.subscribe('stream-notify-room', 'GENERAL/typing')).msg).to.equal('ready');
    expect((await bob.subscribe('stream-notify-room', 'GENERAL/typing')).msg).to.equal('ready');
    const marks = { alice: alice.mark(), bob: bob.mark() };
    const allowed = await bob.call('stream-notify-room', 'GENERAL/typing', 'bob', true);
    expect(allowed.error).to.equal(undefined);
    expect(allowed.result).to.equal(undefined);
    // The rule sees the event name: only `*/typing` events may come from clients.
    expect((await bob.call('stream-notify-room', 'GENERAL/deleteMessage', 'm1')).error?.error).to.equal('not-allowed');
    await Promise.all([roundTrip(alice), roundTrip(bob)]);
    expect(streamFrames(alice, marks.alice, 'stream-notify-room').map((m) => m.fields)).to.deep.equal([{ eventName: 'GENERAL/typing', args: ['bob', true] }]);
    // Not sent back to the connection that emitted it.
    expect(streamFrames(bob, marks.bob, 'stream-notify-room')).to.have.length(0);
    // A logged-out client is refused by this rule.
    const anonymous = await pool.connect(server.url);
    expect((await anonymous.call('stream-notify-room', 'GENERAL/typing', 'x', true)).error?.error).to.equal('not-allowed');
    expect(typing.listenerCount).to.equal(2);
  });

  it('retransmitToSelf: the emitting connection gets its own event too', async () => {
    const client = await pool.connect(server.url);
    expect((await client.subscribe('stream-echo', 'e')).msg).to.equal('ready');
    const from = client.mark();
    expect((await client.call('stream-echo', 'e', 'ping')).error).to.equal(undefined);
    await roundTrip(client);
    expect(streamFrames(client, from, 'stream-echo').map((m) => m.fields)).to.deep.equal([{ eventName: 'e', args: ['ping'] }]);
    expect(echo.listenerCount).to.equal(1);
  });

  it('unsubscribe stops the events and removes the listener', async () => {
    const client = await loggedIn('alice');
    const id = 'room-sub';
    client.send({ msg: 'sub', id, name: ROOM, params: ['GENERAL', { useCollection: false, args: [] }] });
    await client.waitFor((m) => m.msg === 'ready' && m.subs.includes(id));
    room.emit('GENERAL', 'before');
    await client.waitFor((m) => m.msg === 'changed' && m.fields.args[0] === 'before');
    expect(room.listenerCount).to.equal(1);

    const from = client.mark();
    client.send({ msg: 'unsub', id });
    await client.waitFor((m) => m.msg === 'nosub' && m.id === id, 2000, from);
    expect(room.listenerCount).to.equal(0);
    expect(room.eventNameCount).to.equal(0);
    room.emit('GENERAL', 'after');
    await roundTrip(client);
    expect(streamFrames(client, from)).to.have.length(0);
  });

  it('a login change reruns the read check: logging out ends a logged-only subscription', async () => {
    const client = await loggedIn('alice');
    expect((await client.subscribe(ROOM, 'GENERAL')).msg).to.equal('ready');
    const from = client.mark();
    expect((await client.call('test.as', null)).error).to.equal(undefined);
    const nosub = await client.waitFor((m) => m.msg === 'nosub', 2000, from);
    expect(nosub.error?.error).to.equal('not-allowed');
    expect(room.listenerCount).to.equal(0);
    room.emit('GENERAL', 'after logout');
    await roundTrip(client);
    expect(streamFrames(client, from)).to.have.length(0);
  });

  it('leaves no listener behind when connections close', async () => {
    const clients = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => loggedIn(u)));
    for (const [i, client] of clients.entries()) {
      expect((await client.subscribe(ROOM, 'GENERAL')).msg).to.equal('ready');
      expect((await client.subscribe(ROOM, `room-${i}`)).msg).to.equal('ready');
      expect((await client.subscribe('stream-notify-room', 'GENERAL/typing')).msg).to.equal('ready');
    }
    expect(room.listenerCount).to.equal(8);
    expect(room.eventNameCount).to.equal(5);
    expect(typing.listenerCount).to.equal(4);
    expect(server.stats().subscriptions).to.be.at.least(12);

    await pool.closeAll();
    await waitUntil(() => server.stats().sessions === 0, 'the sessions to end');
    expect(room.listenerCount).to.equal(0);
    expect(room.eventNameCount).to.equal(0);
    expect(typing.listenerCount).to.equal(0);
    expect(server.stats().subscriptions).to.equal(0);
    // Emitting to nobody is fine.
    room.emit('GENERAL', 'nobody listens');
  });

  it('checks declarations: names, duplicates, rules and event names', () => {
    expect(() => server.stream('room-messages')).to.throw(/already defined/);
    expect(() => server.stream('')).to.throw(TypeError, /stream name/);
    expect(() => server.stream('has space')).to.throw(TypeError, /stream name/);
    expect(() => server.stream('x', { read: 'everyone' as never })).to.throw(TypeError, /read rule/);
    expect(() => room.emit('')).to.throw(TypeError, /event name/);
  });
});
