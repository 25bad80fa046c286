/**
 * End to end against the real server: the server goes away and a new one comes up on the same
 * port. The client must reconnect alone, re-subscribe, send queued calls, and settle every call
 * that was in flight.
 */
import { expect } from 'chai';
import { connectNode, type DdpClient, type ConnectionStatus } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import type { DdpServer } from '../../server/index.js';
import { portOf, startServer } from './support/real-server.js';
import { nextEvent, settle, waitUntil } from './support/wait.js';

/** One incarnation of the server; `generation` changes what it publishes and answers. */
function setup(generation: number): (server: DdpServer) => void {
  return (server) => {
    server.methods({
      add: (a: number, b: number) => a + b,
      // Never answers on the first server: a call in flight when it goes away.
      hang: () => new Promise(() => {}),
      // Hangs on the first server, answers on the second: an unanswered call survives the restart.
      whichServer: () => (generation === 1 ? new Promise(() => {}) : `server ${generation}`),
    });
    server.publish('items', function () {
      if (generation === 1) {
        this.added('items', 'a', { v: 1 });
        this.added('items', 'b', { v: 1 });
      } else {
        this.added('items', 'a', { v: 2 });
        this.added('items', 'c', { v: 2 });
      }
      this.ready();
    });
  };
}

describe('client end to end: reconnect', () => {
  let first: DdpServer | undefined;
  let second: DdpServer | undefined;
  let client: DdpClient | undefined;

  afterEach(async () => {
    client?.close();
    await first?.close();
    await second?.close();
  });

  it('reconnects on its own, re-subscribes, sends queued calls and rejects lost ones', async () => {
    first = await startServer(setup(1));
    const port = portOf(first);
    client = await connectNode(first.url, { minDelayMs: 50, maxDelayMs: 200 });
    const c = client;
    const statuses: ConnectionStatus[] = [];
    c.on('status', (s) => statuses.push(s));

    const handle = c.subscribe('items');
    await handle.ready;
    const items = c.collection('items');
    expect(items.ids()).to.deep.equal(['a', 'b']);
    const events: string[] = [];
    c.on('added', (e) => events.push(`added ${e.id}`));
    c.on('changed', (e) => events.push(`changed ${e.id}`));
    c.on('removed', (e) => events.push(`removed ${e.id}`));

    const lost = settle(c.apply('hang', [], { retryable: false }));
    const retried = c.call('whichServer');
    await waitUntil(() => first!.stats().sessions >= 1, 'a session');

    const disconnected = nextEvent(c, 'disconnected');
    await first.close();
    first = undefined;
    const [info] = await disconnected;
    expect(info.wasConnected).to.equal(true);

    // In flight at the drop and made with `retryable: false`: rejected at once, not left hanging.
    const outcome = await lost;
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('connection-lost');

    // Made while the server is down: queued, sent after the reconnect.
    const queued = c.call('add', 2, 3);
    // The view keeps the old documents meanwhile.
    expect(items.ids()).to.deep.equal(['a', 'b']);

    second = await startServer(setup(2), { port });
    await nextEvent(c, 'connected', 5000);

    expect(await queued).to.equal(5);
    expect(await retried).to.equal('server 2');
    await waitUntil(() => handle.isReady && !items.has('b'), 'the resync');
    expect(items.find().map((d) => [d._id, d.v])).to.deep.equal([
      ['a', 2],
      ['c', 2],
    ]);
    expect(events.sort()).to.deep.equal(['added c', 'changed a', 'removed b']);
    expect(statuses).to.include.members(['reconnecting', 'connecting', 'connected']);
    expect(statuses[statuses.length - 1]).to.equal('connected');
  });

  it('fails fast on calls beyond the queue bound while the server is down', async () => {
    first = await startServer(setup(1));
    const port = portOf(first);
    client = await connectNode(first.url, { minDelayMs: 50, maxDelayMs: 200, maxQueuedCalls: 3 });
    const c = client;
    const disconnected = nextEvent(c, 'disconnected');
    await first.close();
    first = undefined;
    await disconnected;
    const queued = [c.call('add', 1, 1), c.call('add', 2, 2), c.call('add', 3, 3)];
    const overflow = await settle(c.call('add', 4, 4));
    expect((overflow as { error: DdpError }).error.error).to.equal('queue-full');
    second = await startServer(setup(2), { port });
    expect(await Promise.all(queued)).to.deep.equal([2, 4, 6]);
  });
});
