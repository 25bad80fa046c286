import { expect } from 'chai';
import WebSocket from 'ws';
import simpleDDP from 'simpleddp';
import { startServer, stopServers } from '../helpers/server.js';
import { DdpError, type DdpServer } from '../../server/index.js';

describe('server: interoperability with simpleddp (a real third-party DDP client)', () => {
  let server: DdpServer;
  let client: simpleDDP;

  beforeEach(async () => {
    server = await startServer({}, (s) => {
      s.methods({
        add: (a: number, b: number) => a + b,
        falsy: () => 0,
        refuse() {
          throw new DdpError('not-allowed', 'You may not', { field: 'name', limit: 3 });
        },
        inspect(when: Date, bytes: Uint8Array) {
          return { isDate: when instanceof Date, isBytes: bytes instanceof Uint8Array, later: new Date(when.getTime() + 1000), doubled: bytes.map((b) => b * 2) };
        },
      });
      s.publish('items', function (owner: string) {
        this.added('items', 'i1', { owner, n: 1, at: new Date(5) });
        this.added('items', 'i2', { owner, n: 2 });
        this.ready();
      });
    });
    client = new simpleDDP({ endpoint: server.url, SocketConstructor: WebSocket, reconnectInterval: 1000 });
    await client.connect();
  });

  afterEach(async () => {
    await client.disconnect();
    await stopServers();
  });

  it('calls methods and gets results, falsy ones included', async () => {
    expect(client.connected).to.equal(true);
    expect(await client.call('add', 2, 3)).to.equal(5);
    expect(await client.call('falsy')).to.equal(0);
  });

  it('gets a thrown DdpError with its details', async () => {
    let error: unknown;
    try {
      await client.call('refuse');
    } catch (err) {
      error = err;
    }
    expect(error).to.deep.equal({ isClientSafe: true, error: 'not-allowed', reason: 'You may not', details: { field: 'name', limit: 3 }, message: 'You may not [not-allowed]', errorType: 'Meteor.Error' });
  });

  it('gets 404 for an unknown method', async () => {
    const error = await client.call('nope').then(() => null, (err: unknown) => err);
    expect(error).to.deep.include({ error: 404, reason: "Method 'nope' not found" });
  });

  it('carries EJSON Date and Uint8Array both ways', async () => {
    const result = await client.call('inspect', new Date(1000), new Uint8Array([1, 2, 3]));
    expect(result).to.deep.equal({ isDate: true, isBytes: true, later: new Date(2000), doubled: new Uint8Array([2, 4, 6]) });
  });

  it('subscribes: collection data arrives; unsubscribing removes it', async () => {
    const sub = client.subscribe('items', 'ann');
    await sub.ready();
    const docs = client.collection('items').fetch().sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(docs).to.deep.equal([
      { id: 'i1', owner: 'ann', n: 1, at: new Date(5) },
      { id: 'i2', owner: 'ann', n: 2 },
    ]);
    await sub.stop();
    expect(client.collection('items').fetch()).to.deep.equal([]);
  });
});
