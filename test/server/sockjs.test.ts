import { expect } from 'chai';
import { startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import type { DdpServer } from '../../server/index.js';
import { encode } from '../../protocol/ejson.js';

describe('server: SockJS and endpoints', () => {
  let server: DdpServer;
  let base: string;
  beforeEach(async () => {
    server = await startServer({}, (s) => s.methods({ echo: (x: unknown) => x }));
    base = server.url.replace(/\/websocket$/, '');
  });
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('serves GET /sockjs/info as JSON saying WebSocket works', async () => {
    const res = await fetch(base.replace(/^ws/, 'http') + '/sockjs/info');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).to.include({ websocket: true, cookie_needed: false });
    expect(body.origins).to.deep.equal(['*:*']);
    expect(body.entropy).to.be.a('number');
  });

  it("frames messages as SockJS: 'o', then a[...]; takes inbound arrays of messages", async () => {
    const client = await RawClient.connect(`${base}/sockjs/123/abcdefgh/websocket`, { sockjs: true });
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await client.waitFor((m) => m.msg === 'connected');
    expect(client.texts[0]).to.equal('o');
    expect(client.texts[1]).to.equal('a["{\\"server_id\\":\\"0\\"}"]');
    expect(client.texts[2]).to.match(/^a\["\{\\"msg\\":\\"connected\\",\\"session\\":\\"[^"\\]+\\"\}"\]$/);
    // Two messages in one SockJS frame, and one bare JSON string.
    client.send(JSON.stringify([JSON.stringify({ msg: 'method', method: 'echo', params: [1], id: 'a' }), encode({ msg: 'method', method: 'echo', params: [{ d: new Date(0) }], id: 'b' })]));
    client.send(JSON.stringify(JSON.stringify({ msg: 'method', method: 'echo', params: [3], id: 'c' })));
    await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === 'c');
    const results = client.messages.filter((m) => m.msg === 'result');
    expect(results.map((m) => m.id)).to.deep.equal(['a', 'b', 'c']);
    expect(results[1]!.result).to.deep.equal({ d: new Date(0) });
    // result and updated travel in one SockJS frame.
    expect(client.texts).to.include('a["{\\"msg\\":\\"result\\",\\"id\\":\\"a\\",\\"result\\":1}","{\\"msg\\":\\"updated\\",\\"methods\\":[\\"a\\"]}"]');
  });

  it('closes broken SockJS framing with 1002', async () => {
    const client = await RawClient.connect(`${base}/sockjs/1/session1/websocket`, { sockjs: true });
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await client.waitFor((m) => m.msg === 'connected');
    client.send('{"msg":"ping"}');
    const { code } = await client.closed;
    expect(code).to.equal(1002);
    expect(client.texts.at(-1)).to.equal('c[1002,"Broken SockJS framing"]');
  });

  it('accepts /websocket/ with a trailing slash', async () => {
    const client = await RawClient.handshake(`${server.url}/`);
    expect((await client.call('echo', ['slash'])).result).to.equal('slash');
  });

  it('answers plain HTTP on /websocket with 426', async () => {
    const res = await fetch(server.url.replace(/^ws/, 'http'));
    expect(res.status).to.equal(426);
  });
});
