import { expect } from 'chai';
import { gate, nextSessionEnd, startServer, stopServers, TEST_SERVER_DEFAULTS } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import { createServer, OptionError, type ServerOptions } from '../../server/index.js';
import type { Session } from '../../server/ddp/session.js';

describe('server: lifecycle, options and resource accounting', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('closes gracefully: an in-flight method finishes and its result arrives, then 1001', async () => {
    const release = gate();
    const started = gate();
    const server = await startServer({}, (s) => s.methods({
      async slow() {
        started.open();
        await release.promise;
        return 'finished';
      },
      quick: () => 'quick',
    }));
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'method', method: 'slow', params: [], id: 'slow' });
    await started.promise;
    const closing = server.close();
    // New work is refused while shutting down, with a result and an updated all the same.
    const refused = await client.call('quick', [], 'late');
    expect(refused.error).to.deep.include({ error: 503, reason: 'Server shutting down' });
    expect(client.isClosed).to.equal(false);
    release.open();
    const { code } = await client.closed;
    await closing;
    expect(code).to.equal(1001);
    const slow = client.messages.find((m) => m.msg === 'result' && m.id === 'slow');
    expect(slow).to.deep.equal({ msg: 'result', id: 'slow', result: 'finished' });
    expect(client.messages.at(-1)).to.deep.equal({ msg: 'updated', methods: ['slow'] });
    let refusedConnect: unknown;
    try {
      await RawClient.connect(server.url);
    } catch (err) {
      refusedConnect = err;
    }
    expect(refusedConnect).to.be.instanceOf(Error);
  });

  it('close() with no clients resolves, and twice is the same promise', async () => {
    const server = await startServer();
    const a = server.close();
    expect(server.close()).to.equal(a);
    await a;
  });

  const badOptions: [string, ServerOptions | Record<string, unknown>][] = [
    ['port', { port: -1 }],
    ['port', { port: 70000 }],
    ['maxFrameBytes', { maxFrameBytes: '1MB' }],
    ['maxBufferedBytes', { maxBufferedBytes: 1.5 }],
    ['heartbeatTimeoutMs', { heartbeatTimeoutMs: 0 }],
    ['maxMethodsInFlight', { maxMethodsInFlight: 0 }],
    ['allowedOrigins', { allowedOrigins: 'https://a.example' }],
    ['sockjs', { sockjs: 'yes' }],
    ['httpForwardedCount', { httpForwardedCount: -1 }],
    ['host', { host: '' }],
    ['bogusOption', { bogusOption: 1 }],
  ];
  for (const [name, options] of badOptions) {
    it(`createServer throws OptionError naming '${name}' for ${JSON.stringify(options)}`, () => {
      let error: unknown;
      try {
        createServer({ ...TEST_SERVER_DEFAULTS, ...options } as ServerOptions);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(OptionError);
      expect((error as OptionError).option).to.equal(name);
      expect((error as OptionError).message).to.include(`'${name}'`);
    });
  }

  it('returns stats to zero after a client disconnects mid-method (no leaked timers, queue entries or subscriptions)', async () => {
    const release = gate();
    const started = gate();
    const stopped: string[] = [];
    let session: Session | null = null;
    const server = await startServer({ heartbeatIntervalMs: 60_000 }, (s) => {
      s.onSession('started', (x) => {
        session = x;
      });
      s.methods({
        async slow() {
          started.open();
          await release.promise;
          return 'late';
        },
        quick: () => 1,
      });
      s.publish('docs', function () {
        this.added('docs', 'a', { n: 1 });
        this.added('docs', 'b', { n: 2 });
        this.onStop(() => stopped.push('docs'));
        this.ready();
      });
    });
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 's', name: 'docs', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    client.send({ msg: 'method', method: 'slow', params: [], id: '1' });
    client.send({ msg: 'method', method: 'quick', params: [], id: '2' });
    client.send({ msg: 'method', method: 'quick', params: [], id: '3' });
    client.send({ msg: 'sub', id: 't', name: 'docs', params: [] });
    await started.promise;
    client.send({ msg: 'ping', id: 'sync' });
    await client.waitFor((m) => m.msg === 'pong');
    // Only our publication: the own-user publication runs for logged-in sessions only.
    expect(server.stats()).to.deep.equal({ sockets: 1, sessions: 1, methodsInFlight: 3, queuedMessages: 3, subscriptions: 1, documents: 2, timers: 1 });

    const ended = nextSessionEnd(server);
    client.terminate();
    await ended;
    expect(stopped).to.deep.equal(['docs']);
    release.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(session).to.not.equal(null);
    expect(session!.counts()).to.deep.equal({ methodsInFlight: 0, queued: 0, subscriptions: 0, documents: 0, timers: 0 });
    expect(server.stats()).to.deep.equal({ sockets: 0, sessions: 0, methodsInFlight: 0, queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 });
  });
});
