/** The connection layer against a scripted server on a real socket: handshake, heartbeats, timeouts, reconnects. */
import { expect } from 'chai';
import { createNodeClient, type DdpClient, type DdpClientOptions } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import { FakeDdpServer } from './support/fake-server.js';
import { delay, nextEvent, settle, waitUntil } from './support/wait.js';

describe('client connection (scripted server)', () => {
  let servers: FakeDdpServer[] = [];
  let clients: DdpClient[] = [];

  async function fake(options: Parameters<typeof FakeDdpServer.start>[0] = {}): Promise<FakeDdpServer> {
    const server = await FakeDdpServer.start(options);
    servers.push(server);
    return server;
  }

  function client(url: string, options: DdpClientOptions = {}): DdpClient {
    const c = createNodeClient(url, { minDelayMs: 20, maxDelayMs: 100, random: () => 0.5, ...options });
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
    clients = [];
    servers = [];
  });

  it('sends connect with version 1, ignores the server_id greeting, and reports the session', async () => {
    const server = await fake();
    const c = client(server.url);
    const statuses: string[] = [];
    c.on('status', (s) => statuses.push(s));
    const errors: DdpError[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    expect(server.last.received[0]).to.deep.equal({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
    expect(c.status).to.equal('connected');
    expect(c.sessionId).to.equal(server.last.session);
    expect(statuses).to.deep.equal(['connecting', 'connected']);
    expect(errors).to.deep.equal([]);
  });

  it("answers the server's ping with pong, echoing the id only when given", async () => {
    const server = await fake();
    const c = client(server.url);
    await c.connect();
    server.last.send({ msg: 'ping', id: 'p1' });
    server.last.send({ msg: 'ping' });
    await waitUntil(() => server.all('pong').length === 2, 'two pongs');
    expect(server.all('pong')).to.deep.equal([{ msg: 'pong', id: 'p1' }, { msg: 'pong' }]);
  });

  it('pings when idle and stays connected while the server answers', async () => {
    const server = await fake();
    // A wide timeout: the fake server answers on the client's own event loop, which a busy
    // machine can stall for hundreds of ms. The wait is for the pings, not for a duration.
    const c = client(server.url, { heartbeatIntervalMs: 40, heartbeatTimeoutMs: 1000 });
    const drops: unknown[] = [];
    c.on('disconnected', (info) => drops.push(info));
    await c.connect();
    await waitUntil(() => server.all('ping').length >= 3, 'three pings answered');
    expect(drops).to.deep.equal([]);
    expect(c.status).to.equal('connected');
    expect(server.connections).to.have.length(1);
  });

  it('treats a silent server as dead, then reconnects on its own', async () => {
    const server = await fake({ answerPings: false });
    const c = client(server.url, { heartbeatIntervalMs: 40, heartbeatTimeoutMs: 40 });
    await c.connect();
    const [info] = await nextEvent(c, 'disconnected', 2000);
    expect(info.code).to.equal(4001);
    expect(info.reason).to.match(/ping/);
    expect(info.wasConnected).to.equal(true);
    await nextEvent(c, 'connected', 2000);
    expect(server.connections.length).to.be.greaterThan(1);
  });

  it('gives up on a handshake that never completes after connectTimeoutMs', async () => {
    const server = await fake({ handshake: 'silent' });
    const c = client(server.url, { connectTimeoutMs: 100 });
    const started = Date.now();
    const outcome = await settle(c.connect());
    expect(outcome.ok).to.equal(false);
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('connect-failed');
    expect(error.reason).to.match(/100 ms/);
    expect(Date.now() - started).to.be.within(80, 1000);
    expect(c.status).to.equal('disconnected');
  });

  it('rejects connect() when nothing listens, unless retryFirstConnect', async () => {
    const server = await fake();
    const port = server.port;
    await server.close();
    servers = [];
    const outcome = await settle(client(`ws://127.0.0.1:${port}/websocket`).connect());
    expect((outcome as { error: DdpError }).error.error).to.equal('connect-failed');

    const patient = client(`ws://127.0.0.1:${port}/websocket`, { retryFirstConnect: true });
    const connecting = patient.connect();
    await nextEvent(patient, 'reconnecting');
    await fake({ port });
    await connecting;
    expect(patient.status).to.equal('connected');
  });

  it("negotiates like Meteor on 'failed', and errors when no version fits", async () => {
    const server = await fake({ handshake: 'failed', failedVersion: 'pre2' });
    const c = client(server.url);
    const outcome = await settle(c.connect());
    expect(server.all('connect').map((m) => m.version)).to.deep.equal(['1', 'pre2']);
    // The server refused 'pre2' too, although it asked for it: nothing left to try.
    expect((outcome as { error: DdpError }).error.error).to.equal('version-mismatch');

    const other = await fake({ handshake: 'failed', failedVersion: '42' });
    const outcome2 = await settle(client(other.url).connect());
    expect((outcome2 as { error: DdpError }).error.error).to.equal('version-mismatch');
    expect((outcome2 as { error: DdpError }).error.details).to.deep.equal({ version: '42' });
  });

  it('reconnects with growing delays while the server is down, and stops when closed', async () => {
    const server = await fake();
    const port = server.port;
    const c = client(server.url, { minDelayMs: 20, maxDelayMs: 1000, backoffFactor: 2 });
    await c.connect();
    const delays: number[] = [];
    c.on('reconnecting', (info) => delays.push(info.delayMs));
    await server.close();
    servers = [];
    await waitUntil(() => delays.length >= 3, 'three reconnect attempts');
    expect(delays.slice(0, 3)).to.deep.equal([20, 40, 80]);
    const restarted = await fake({ port });
    await nextEvent(c, 'connected', 3000);
    expect(restarted.connections).to.have.length(1);

    restarted.last.kill();
    await nextEvent(c, 'reconnecting');
    c.close();
    expect(c.status).to.equal('closed');
    await delay(100);
    expect(restarted.connections).to.have.length(1);
    expect((await settle(c.connect())).ok).to.equal(false);
  });

  it('reports unreadable frames as errors and stays usable', async () => {
    const server = await fake();
    server.method('echo', (params) => params[0]);
    const c = client(server.url);
    await c.connect();
    const errors: DdpError[] = [];
    c.on('error', (e) => errors.push(e));
    server.last.sendRaw('not json');
    server.last.sendRaw('{"msg":"nonsense"}');
    server.last.send({ msg: 'error', reason: 'Bad request' });
    expect(await c.call('echo', 'still here')).to.equal('still here');
    expect(errors.map((e) => e.error)).to.deep.equal(['protocol-error', 'protocol-error', 'protocol-error']);
  });

  it("rejects the call named by a server's {msg:'error', offendingMessage}", async () => {
    const server = await fake();
    const c = client(server.url);
    await c.connect();
    const pending = settle(c.call('hangs'));
    await waitUntil(() => server.all('method').length === 1, 'the method frame');
    const sent = server.all('method')[0]!;
    server.last.send({ msg: 'error', reason: 'Malformed method invocation', offendingMessage: sent });
    const outcome = await pending;
    expect((outcome as { error: DdpError }).error.error).to.equal('protocol-error');
    expect((outcome as { error: DdpError }).error.reason).to.match(/Malformed method invocation/);
  });
});
