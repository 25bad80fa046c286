import { expect } from 'chai';
import { gate, startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import type { DdpServer } from '../../server/index.js';

describe('server: heartbeats and ping/pong', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  describe('server pings', () => {
    let server: DdpServer;
    beforeEach(async () => {
      // The client answers on the same event loop as the server: on a busy machine a pong can
      // take hundreds of ms to be read, so the timeout is wide (the silent cases just wait
      // that long) while the interval stays short.
      server = await startServer({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1500 });
    });

    it('pings an idle client and closes it with 4001 when it stays silent', async () => {
      const client = await RawClient.handshake(server.url);
      await client.waitFor((m) => m.msg === 'ping');
      expect(client.messageTexts).to.include('{"msg":"ping"}');
      const { code } = await client.closed;
      expect(code).to.equal(4001);
      expect(client.messages.filter((m) => m.msg === 'ping')).to.have.length(1);
    });

    it('keeps a client that answers with pong', async () => {
      const client = await RawClient.handshake(server.url);
      for (let i = 0; i < 4; i++) {
        await client.waitFor((m) => m.msg === 'ping', 5000);
        client.send({ msg: 'pong' });
      }
      expect(client.isClosed).to.equal(false);
      // Then silence: closed.
      expect((await client.closed).code).to.equal(4001);
    });

    it('pings a client that only answers pings every other interval, as Meteor does (its pong is the sign of life of the next interval)', async () => {
      const client = await RawClient.handshake(server.url);
      const at: number[] = [];
      for (let i = 0; i < 6; i++) {
        await client.waitFor((m) => m.msg === 'ping', 5000);
        at.push(performance.now());
        client.send({ msg: 'pong' });
      }
      const gaps = at.slice(1).map((t, i) => t - at[i]!).sort((a, b) => a - b);
      // Pinged on every interval this would be about 100–125 ms (the interval and the sweep's lateness).
      expect(gaps[Math.floor(gaps.length / 2)], `gaps between pings: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`).to.be.at.least(190);
    });

    it('counts any inbound message as a sign of life', async () => {
      const client = await RawClient.handshake(server.url);
      for (let i = 0; i < 4; i++) {
        await client.waitFor((m) => m.msg === 'ping', 5000);
        client.send({ msg: 'ping', id: `life${i}` }); // not a pong
      }
      expect(client.isClosed).to.equal(false);
      expect((await client.closed).code).to.equal(4001);
      expect(client.messages.filter((m) => m.msg === 'pong').map((m) => m.id)).to.deep.equal(['life0', 'life1', 'life2', 'life3']);
    });

    it('has no heartbeat for pre1 clients', async () => {
      const client = await RawClient.handshake(server.url, {}, { msg: 'connect', version: 'pre1', support: ['pre1'] });
      expect(client.isClosed).to.equal(false);
      expect(server.stats().timers).to.equal(0);
      const modern = await RawClient.handshake(server.url);
      expect(modern.isClosed).to.equal(false);
      expect(server.stats().timers).to.equal(1);
    });
  });

  describe('client pings', () => {
    it('answers ping with pong, echoing the id only when given, even while a method blocks the queue', async () => {
      const release = gate();
      const started = gate();
      const server = await startServer({}, (s) => s.methods({
        async slow() {
          started.open();
          await release.promise;
          return 'done';
        },
      }));
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'method', method: 'slow', params: [], id: 'slow' });
      await started.promise;
      client.send({ msg: 'ping', id: 'p1' });
      expect(await client.next()).to.deep.equal({ msg: 'pong', id: 'p1' });
      client.send({ msg: 'ping' });
      expect(await client.next()).to.deep.equal({ msg: 'pong' });
      expect(client.messageTexts.slice(-1)).to.deep.equal(['{"msg":"pong"}']);
      expect(client.messages.some((m) => m.msg === 'result')).to.equal(false);
      release.open();
      expect(await client.next()).to.deep.equal({ msg: 'result', id: 'slow', result: 'done' });
      expect(await client.next()).to.deep.equal({ msg: 'updated', methods: ['slow'] });
    });

    it('ignores a client pong that answers nothing', async () => {
      const server = await startServer({}, (s) => s.methods({ echo: (x: unknown) => x }));
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'pong', id: 'unasked' });
      expect((await client.call('echo', [1], 'e')).result).to.equal(1);
      expect(client.messages.filter((m) => m.msg === 'error' || m.msg === 'pong' || m.msg === 'ping')).to.deep.equal([]);
    });
  });
});
