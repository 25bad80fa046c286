/**
 * The transport gives ws's receiver back one frame list per connection after each message
 * (server/transport/fragment-list.ts: a new list per message left the message's buffers hanging
 * off dead old objects, and young-generation collections copied them). These tests pin the `ws`
 * internals that relies on, so an upgrade that changes them fails here, and check that messages,
 * fragmented ones included, arrive intact.
 */
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { fragmentListOf, recycleFragmentList } from '../../server/transport/fragment-list.js';
import { moreToParse } from '../../server/transport/websocket.js';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';

describe('transport: one ws frame list per connection', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('ws (this version) has the frame list; after each text message the receiver holds the same, empty list, and fragmented messages arrive whole', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const received: string[] = [];
    const sameList: boolean[] = [];
    const more: boolean[] = [];
    const done = new Promise<void>((resolve) => {
      wss.on('connection', (ws) => {
        const list = fragmentListOf(ws);
        expect(list, 'ws._receiver._fragments is an array').to.be.an('array');
        ws.on('message', (data: Buffer) => {
          recycleFragmentList(ws, list!);
          received.push(data.toString());
          more.push(moreToParse(ws));
          expect((ws as unknown as { _receiver: { _bufferedBytes: unknown } })._receiver._bufferedBytes, 'ws._receiver._bufferedBytes is a number').to.be.a('number');
          sameList.push((ws as unknown as { _receiver: { _fragments: unknown[] } })._receiver._fragments === list && list!.length === 0);
          if (received.length === 4) resolve();
        });
      });
    });
    const address = wss.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${address.port}`);
    await new Promise((resolve) => client.once('open', resolve));
    client.send('{"msg":"ping"}');
    client.send('one ', { fin: false });
    client.send('message in ', { fin: false });
    client.send('three frames', { fin: true });
    client.send('{"msg":"pong"}');
    client.send('x'.repeat(100_000));
    await done;
    client.close();
    await new Promise((resolve) => wss.close(resolve));
    expect(received).to.deep.equal(['{"msg":"ping"}', 'one message in three frames', '{"msg":"pong"}', 'x'.repeat(100_000)]);
    expect(sameList).to.deep.equal([true, true, true, true]);
    // Nothing follows the last message in its chunk (the ones before may share a chunk).
    expect(more[3]).to.equal(false);
  });

  it('a DDP server answers frame after frame on one connection, fragmented ones included', async () => {
    const server = await startServer({}, (s) => s.methods({ echo: (x: unknown) => x }));
    const client = await RawClient.handshake(server.url);
    for (let i = 0; i < 3; i++) expect((await client.call('echo', [i], `e${i}`)).result).to.equal(i);
    client.ws.send('{"msg":"method","method":"echo",', { fin: false });
    client.ws.send('"params":["whole"],"id":"frag"}', { fin: true });
    await client.waitFor((m) => m.msg === 'result' && m.id === 'frag');
    expect(client.messages.find((m) => m.id === 'frag')?.result).to.equal('whole');
  });
});
