/**
 * The client side of "a re-sent call runs once": every call carries a `randomSeed`; a call
 * that got no result before the socket dropped is sent again, unchanged (same id, same seed),
 * after the reconnect and the re-login; an answered call is not. Against a scripted server
 * (to see the frames) and end to end against ddp-guard (the handler runs once).
 */
import { expect } from 'chai';
import { createNodeClient, type DdpClient } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import type { GuardServer } from '../../server/index.js';
import { addUser } from '../accounts/support.js';
import { FakeDdpServer, type Received } from '../client/support/fake-server.js';
import { settle, waitUntil } from '../client/support/wait.js';
import { gate, startServer, stopServers } from '../helpers/server.js';

const expires = new Date('2030-01-01T00:00:00Z');
const methodsOf = (conn: { received: Received[] }): Received[] => conn.received.filter((m) => m.msg === 'method');

describe('failover: the client re-sends unanswered calls with their randomSeed', function () {
  this.timeout(20_000);
  const clients: DdpClient[] = [];
  const client = (url: string): DdpClient => {
    const c = createNodeClient(url, { minDelayMs: 10, maxDelayMs: 50, random: () => 0.5 });
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stopServers();
  });

  describe('against a scripted server', () => {
    let server: FakeDdpServer;
    beforeEach(async () => {
      server = await FakeDdpServer.start();
      server.method('login', (params) => {
        const arg = params[0] as Record<string, unknown>;
        return { id: 'u1', token: typeof arg.resume === 'string' ? arg.resume : 't1', tokenExpires: expires, type: 'password' };
      });
      server.method('echo', (params) => params[0]);
    });
    afterEach(async () => {
      await server.close();
    });

    it('sends a fresh 128-bit randomSeed with every call', async () => {
      const c = client(server.url);
      await c.connect();
      await c.call('echo', 1);
      await c.call('echo', 2);
      const seeds = methodsOf(server.last).map((m) => m.randomSeed);
      expect(seeds).to.have.length(2);
      for (const s of seeds) expect(s).to.be.a('string').and.match(/^[0-9a-f]{32}$/);
      expect(seeds[0]).to.not.equal(seeds[1]);
    });

    it('after a drop: re-login first, then the unanswered calls again, unchanged; never an answered one', async () => {
      const c = client(server.url);
      await c.connect();
      await c.loginWithPassword('amy', 'pw');
      expect(await c.call('echo', 'answered')).to.equal('answered');
      // Unknown to the server for now: they hang, in flight at the drop.
      const first = c.call('append', 'one');
      const second = c.call('append', 'two');
      const optedOut = settle(c.apply('append', ['not again'], { retryable: false }));
      await waitUntil(() => methodsOf(server.last).length === 5, 'three calls in flight');
      const before = methodsOf(server.last).filter((m) => m.method === 'append');
      server.method('append', (params) => `done ${String(params[0])}`);
      server.last.kill();
      expect((await optedOut as { error: DdpError }).error).to.be.instanceOf(DdpError).with.property('error', 'connection-lost');
      expect(await first).to.equal('done one');
      expect(await second).to.equal('done two');
      const again = methodsOf(server.connections[1]!);
      expect(again.map((m) => m.method)).to.deep.equal(['login', 'append', 'append']);
      expect(again[0]!.params).to.deep.equal([{ resume: 't1' }]);
      expect(again.slice(1)).to.deep.equal(before.slice(0, 2));
    });
  });

  describe('end to end against ddp-guard', () => {
    it('a call in flight when the connection drops is re-sent, answered with the first run\'s result, and runs once', async () => {
      const runs: string[] = [];
      const hold = gate();
      let server: GuardServer | undefined;
      server = await startServer({}, (s) => {
        s.methods({
          async 'messages.append'(text: string) {
            runs.push(text);
            await hold.promise;
            return { n: runs.length, text };
          },
        });
      });
      const services = await server.services.get();
      await addUser(services, { username: 'amy', password: 'correct horse battery' });
      const c = client(server.url);
      await c.connect();
      await c.loginWithPassword('amy', 'correct horse battery');
      const call = c.call('messages.append', 'hello');
      await waitUntil(() => runs.length === 1, 'the handler to start');
      let reconnected = false;
      c.on('connected', () => (reconnected = true));
      server.forEachSession((s) => s.close(1011, 'test drop'));
      await waitUntil(() => reconnected, 'the reconnect', 5000);
      // Time for the re-login and the re-sent call to arrive (it would run again now if it could).
      await new Promise((r) => setTimeout(r, 300));
      hold.open();
      expect(await call).to.deep.equal({ n: 1, text: 'hello' });
      expect(runs).to.deep.equal(['hello']);
      server = undefined;
    });
  });
});
