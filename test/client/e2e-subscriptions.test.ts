/** End to end against the real server: subscriptions, the local view, change events, stop(). */
import { expect } from 'chai';
import { connectNode, type DdpClient, type AddedEvent, type ChangedEvent, type RemovedEvent } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import type { DdpServer } from '../../server/index.js';
import { startServer } from './support/real-server.js';
import { settle, waitUntil } from './support/wait.js';

interface Task {
  title: string;
  done?: boolean;
  due?: Date;
  [field: string]: unknown;
}

describe('client end to end: subscriptions', () => {
  let server: DdpServer;
  let client: DdpClient;
  let stopped: string[];
  /** Live publication handles, so methods can change what is published. */
  const live = new Map<string, { changed: (id: string, fields: Record<string, unknown>) => void; removed: (id: string) => void; added: (id: string, fields: Record<string, unknown>) => void }>();

  before(async () => {
    stopped = [];
    server = await startServer((s) => {
      s.publish('tasks', function (owner: string) {
        this.added('tasks', `${owner}-1`, { title: 'first', done: false, due: new Date(0) });
        this.added('tasks', `${owner}-2`, { title: 'second', done: true });
        live.set(owner, {
          added: (id, fields) => this.added('tasks', id, fields),
          changed: (id, fields) => this.changed('tasks', id, fields),
          removed: (id) => this.removed('tasks', id),
        });
        this.onStop(() => stopped.push(owner));
        this.ready();
      });
      s.publish('refused', function () {
        this.error(new DdpError('not-allowed', 'No tasks for you'));
      });
      s.methods({
        'tasks.rename': (owner: string, id: string, title: string) => live.get(owner)?.changed(id, { title }),
        'tasks.clearDue': (owner: string, id: string) => live.get(owner)?.changed(id, { due: undefined }),
        'tasks.remove': (owner: string, id: string) => live.get(owner)?.removed(id),
        'tasks.add': (owner: string, id: string, title: string) => live.get(owner)?.added(id, { title }),
      });
    });
    client = await connectNode(server.url);
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  it('fills the local view and resolves ready after the initial documents', async () => {
    const seen: AddedEvent[] = [];
    const off = client.on('added', (e) => seen.push(e));
    const handle = client.subscribe('tasks', 'ann');
    await handle.ready;
    off();
    const tasks = client.collection<Task>('tasks');
    expect(handle.isReady).to.equal(true);
    expect(tasks.size).to.equal(2);
    expect(tasks.get('ann-1')).to.deep.equal({ _id: 'ann-1', title: 'first', done: false, due: new Date(0) });
    expect(tasks.find((t) => t.done === true).map((t) => t._id)).to.deep.equal(['ann-2']);
    expect(seen.map((e) => [e.collection, e.id])).to.deep.equal([['tasks', 'ann-1'], ['tasks', 'ann-2']]);
    handle.stop();
    await waitUntil(() => tasks.size === 0, 'the documents to go');
  });

  it('applies changed (merging fields, clearing removed ones) and removed, with events', async () => {
    const handle = client.subscribe('tasks', 'bob');
    await handle.ready;
    const tasks = client.collection<Task>('tasks');
    const changes: ChangedEvent<Task>[] = [];
    const removals: RemovedEvent<Task>[] = [];
    const additions: AddedEvent<Task>[] = [];
    const offs = [tasks.on('changed', (e) => changes.push(e)), tasks.on('removed', (e) => removals.push(e)), tasks.on('added', (e) => additions.push(e))];

    await client.apply('tasks.rename', ['bob', 'bob-1', 'renamed'], { waitForUpdated: true });
    expect(tasks.get('bob-1')).to.deep.equal({ _id: 'bob-1', title: 'renamed', done: false, due: new Date(0) });
    await client.apply('tasks.clearDue', ['bob', 'bob-1'], { waitForUpdated: true });
    expect(tasks.get('bob-1')).to.deep.equal({ _id: 'bob-1', title: 'renamed', done: false });
    await client.apply('tasks.add', ['bob', 'bob-3', 'third'], { waitForUpdated: true });
    await client.apply('tasks.remove', ['bob', 'bob-2'], { waitForUpdated: true });
    expect(tasks.ids().sort()).to.deep.equal(['bob-1', 'bob-3']);

    expect(changes.map((e) => [e.id, e.fields, e.cleared])).to.deep.equal([
      ['bob-1', { title: 'renamed' }, []],
      ['bob-1', {}, ['due']],
    ]);
    expect(additions.map((e) => [e.id, e.fields])).to.deep.equal([['bob-3', { title: 'third' }]]);
    expect(removals.map((e) => [e.collection, e.id, e.fields])).to.deep.equal([['tasks', 'bob-2', { title: 'second', done: true }]]);
    for (const off of offs) off();
    handle.stop();
    await waitUntil(() => tasks.size === 0, 'the documents to go');
  });

  it('stop() unsubscribes: the server stops the publication and the documents leave the view', async () => {
    const handle = client.subscribe('tasks', 'cat');
    await handle.ready;
    const tasks = client.collection('tasks');
    expect(tasks.size).to.equal(2);
    handle.stop();
    expect(handle.isStopped).to.equal(true);
    await waitUntil(() => stopped.includes('cat') && tasks.size === 0, 'the publication to stop');
    handle.stop(); // twice is harmless
  });

  it('rejects ready with the server error of a refused subscription, and 404 for an unknown one', async () => {
    let stopError: DdpError | undefined;
    const refused = client.subscribeWith('refused', [], { onStop: (error) => (stopError = error) });
    const outcome = await settle(refused.ready);
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('not-allowed');
    expect(stopError).to.equal(error);
    expect(refused.isStopped).to.equal(true);

    const unknown = await settle(client.subscribe('no-such-publication').ready);
    expect((unknown as { error: DdpError }).error.error).to.equal(404);
    expect((unknown as { error: DdpError }).error.reason).to.equal("Subscription 'no-such-publication' not found");
  });

  it('rejects ready when stopped before it, instead of leaving it pending', async () => {
    const handle = client.subscribe('tasks', 'dan');
    handle.stop();
    const outcome = await settle(handle.ready);
    expect((outcome as { error: DdpError }).error.error).to.equal('subscription-stopped');
    await waitUntil(() => client.collection('tasks').size === 0, 'no leftover documents');
  });
});
