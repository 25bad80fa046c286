import { expect } from 'chai';
import { setImmediate as tick } from 'node:timers/promises';
import { gate, nextSessionEnd, startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient, RawTcpClient } from '../helpers/raw-client.js';

describe('server: frames and transport limits', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('answers every malformed frame with its reason and stays usable', async () => {
    const server = await startServer({}, (s) => s.methods({ echo: (x: unknown) => x }));
    const client = await RawClient.handshake(server.url);
    const table: [string, string, unknown][] = [
      ['not json', 'Parse error', undefined],
      ['{"msg":"method"', 'Parse error', undefined],
      ['{"msg":"method","method":"echo","params":[{"$date":"soon"}],"id":"x"}', 'Parse error', undefined],
      ['{"msg":"method","method":"echo","params":[{"$binary":"%%%"}],"id":"x"}', 'Parse error', undefined],
      ['{"msg":"method","method":"echo","params":[{"$type":"nope","$value":1}],"id":"x"}', 'Parse error', undefined],
      ['{"msg":"method","method":"echo","params":[{"__proto__":{"admin":true}}],"id":"x"}', 'Parse error', undefined],
      ['{"msg":"method","method":"echo","params":[{"constructor":{"prototype":{}}}],"id":"x"}', 'Parse error', undefined],
      [`{"msg":"method","method":"echo","params":${'['.repeat(100)}${']'.repeat(100)},"id":"x"}`, 'Parse error', undefined],
      ['"just a string"', 'Bad request', 'just a string'],
      ['[{"msg":"ping"}]', 'Bad request', [{ msg: 'ping' }]],
      ['{}', 'Bad request', {}],
      ['{"msg":"hello"}', 'Bad request', { msg: 'hello' }],
      ['{"msg":"result","id":"1"}', 'Bad request', { msg: 'result', id: '1' }],
      ['{"msg":"method","method":"echo","params":[]}', 'Malformed method invocation', { msg: 'method', method: 'echo', params: [] }],
      ['{"msg":"method","method":"echo","params":{},"id":"y"}', 'Malformed method invocation', { msg: 'method', method: 'echo', params: {}, id: 'y' }],
      ['{"msg":"method","method":"echo","params":[],"id":"z","randomSeed":1}', 'Malformed method invocation', { msg: 'method', method: 'echo', params: [], id: 'z', randomSeed: 1 }],
      ['{"msg":"sub","name":"p","params":[]}', 'Malformed subscription', { msg: 'sub', name: 'p', params: [] }],
      ['{"msg":"sub","id":"s","name":"p","params":"x"}', 'Malformed subscription', { msg: 'sub', id: 's', name: 'p', params: 'x' }],
      ['{"msg":"unsub"}', 'Malformed subscription', { msg: 'unsub' }],
    ];
    for (const [frame, reason, offendingMessage] of table) {
      client.send(frame);
      const error = await client.next();
      const expected: Record<string, unknown> = { msg: 'error', reason };
      if (offendingMessage !== undefined) expected.offendingMessage = offendingMessage;
      expect(error, frame).to.deep.equal(expected);
    }
    const ok = await client.call('echo', [{ when: new Date(5) }], 'after');
    expect(ok.result.when).to.be.instanceOf(Date);
    expect(client.messages.filter((m) => m.msg === 'result').map((m) => m.id)).to.deep.equal(['after']);
    expect(client.isClosed).to.equal(false);
  });

  it('closes on a binary frame with 1003', async () => {
    const server = await startServer();
    const client = await RawClient.handshake(server.url);
    client.sendBinary(new Uint8Array([0x7b, 0x7d]));
    expect((await client.closed).code).to.equal(1003);
  });

  it('closes on a frame larger than maxFrameBytes with 1009, and takes one at the limit', async () => {
    const server = await startServer({ maxFrameBytes: 256 }, (s) => s.methods({ echo: (x: unknown) => x }));
    const client = await RawClient.handshake(server.url);
    const fits = { msg: 'method', method: 'echo', params: [''], id: 'fits' };
    fits.params = ['x'.repeat(256 - JSON.stringify(fits).length)];
    expect(JSON.stringify(fits)).to.have.length(256);
    client.send(fits);
    expect((await client.waitFor((m) => m.msg === 'result')).id).to.equal('fits');
    client.send({ msg: 'method', method: 'echo', params: ['x'.repeat(300)], id: 'big' });
    expect((await client.closed).code).to.equal(1009);
    expect(client.messages.filter((m) => m.msg === 'result').map((m) => m.id)).to.deep.equal(['fits']);
  });

  it('closes a client that does not read with 4002 once buffered output passes maxBufferedBytes', async () => {
    // 64 results of 256 KiB: more than loopback's socket buffers hold for a reader that stopped
    // (a few MiB), so the rest piles up in the server's memory until the limit closes the socket.
    const CALLS = 64;
    const chunk = 'x'.repeat(256 * 1024);
    const allCalled = gate();
    let calls = 0;
    const server = await startServer({ maxBufferedBytes: 64 * 1024 }, (s) => s.methods({
      chunk() {
        if (++calls === CALLS) allCalled.open();
        return chunk;
      },
    }));
    // A hand-made client: it reads 4 MiB of backlog in milliseconds, well inside the server's
    // grace period for the closing handshake.
    const client = await RawTcpClient.connect(server.url);
    client.sendText('{"msg":"connect","version":"1","support":["1"]}');
    await client.waitForFrame((f) => f.payload.toString().includes('"connected"'));
    const ended = nextSessionEnd(server);
    client.socket.pause();
    for (let i = 0; i < CALLS; i++) client.sendText(`{"msg":"method","method":"chunk","params":[],"id":"c${i}"}`);
    await allCalled.promise;
    // Each result is written in its handler's tick; by the next one the server has decided.
    await tick();
    client.socket.resume();
    await client.waitForFrame((f) => f.opcode === 8);
    expect(client.closeFrame).to.deep.equal({ code: 4002, reason: 'Client does not read: buffered output limit exceeded' });
    // Nothing is sent after the decision to close: fewer results than calls, none after the close frame.
    const results = client.frames.filter((f) => f.opcode === 1 && f.length > chunk.length);
    expect(results.length).to.be.greaterThan(0).and.lessThan(CALLS);
    expect(client.frames.at(-1)!.opcode).to.equal(8);
    client.terminate(); // rather than make the server wait out its grace period
    await ended;
    expect(server.stats()).to.include({ sockets: 0, sessions: 0, methodsInFlight: 0 });
  });

  it('closes a socket that sends no connect within handshakeTimeoutMs with 4000', async () => {
    const server = await startServer({ handshakeTimeoutMs: 50 });
    const client = await RawClient.connect(server.url);
    const started = Date.now();
    expect((await client.closed).code).to.equal(4000);
    expect(Date.now() - started).to.be.lessThan(1000);
    expect(client.messages).to.deep.equal([{ server_id: '0' }]);
  });

  it('clears the handshake timer once connected', async () => {
    const server = await startServer({ handshakeTimeoutMs: 5000, heartbeatIntervalMs: 0 });
    const client = await RawClient.connect(server.url);
    await client.next();
    expect(server.stats().timers).to.equal(1);
    client.send({ msg: 'connect', version: '1', support: ['1'] });
    await client.waitFor((m) => m.msg === 'connected');
    expect(server.stats().timers).to.equal(0);
  });

  it('closes connections past maxConnectionsPerAddress with 1013', async () => {
    const server = await startServer({ maxConnectionsPerAddress: 2 });
    const a = await RawClient.handshake(server.url);
    await RawClient.handshake(server.url);
    const third = await RawClient.connect(server.url);
    expect((await third.closed).code).to.equal(1013);
    expect(third.messages).to.deep.equal([]);
    const ended = nextSessionEnd(server);
    a.close();
    await ended;
    // A slot is free again once the server has seen the close.
    const again = await RawClient.handshake(server.url);
    expect(again.session).to.be.a('string');
  });

  it('refuses origins outside allowedOrigins, and accepts clients without an Origin', async () => {
    const server = await startServer({ allowedOrigins: ['https://chat.example.com'] });
    const allowed = await RawClient.handshake(server.url, { origin: 'https://chat.example.com' });
    expect(allowed.session).to.be.a('string');
    const noOrigin = await RawClient.handshake(server.url);
    expect(noOrigin.session).to.be.a('string');
    const refused = await RawClient.connect(server.url, { origin: 'https://evil.example' }).then(() => null, (err: unknown) => err);
    expect(String(refused)).to.match(/403/);
  });

  it('negotiates permessage-deflate only when the option is on', async () => {
    const off = await startServer();
    const plain = await RawClient.handshake(off.url, { perMessageDeflate: true });
    expect(plain.ws.extensions).to.equal('');
    expect(plain.responseHeaders['sec-websocket-extensions']).to.equal(undefined);
    const on = await startServer({ perMessageDeflate: true }, (s) => s.methods({ big: () => 'y'.repeat(10_000) }));
    const client = await RawClient.handshake(on.url, { perMessageDeflate: true });
    expect(client.ws.extensions).to.equal('permessage-deflate');
    expect(client.responseHeaders['sec-websocket-extensions']).to.include('server_no_context_takeover').and.include('client_no_context_takeover');
    expect((await client.call('big')).result).to.have.length(10_000);
  });

  it('refuses upgrades on other paths', async () => {
    const server = await startServer();
    const url = server.url.replace('/websocket', '/other');
    let error: unknown;
    try {
      await RawClient.connect(url);
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/404/);
  });
});
