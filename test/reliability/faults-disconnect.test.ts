/**
 * Issue 7: a client that goes away in the middle of things — a slow method running, more
 * queued behind it, subscriptions with documents, a publication still starting, a login in
 * flight — leaks nothing: once the work in flight ends, `server.stats()` (sessions, methods in
 * flight, queued messages, subscriptions, documents, timers) is back to zero, nothing is
 * logged as an error and no promise is rejected unhandled.
 */
import { expect } from 'chai';
import { gate, startServer, stopServers, captureLogger, type Gate, type CapturedLogger } from '../helpers/server.js';
import { closeClients, RawClient } from '../helpers/raw-client.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { sha256Hex } from '../../server/security/crypto.js';
import type { GuardServer } from '../../server/index.js';
import { eventually, statsBackToZero } from './support.js';

describe('reliability: a client that disconnects in the middle of things', function () {
  this.timeout(30_000);
  let server: GuardServer;
  let logs: CapturedLogger;
  let release: Gate;
  let started: Gate;
  let publicationGate: Gate;
  let lateFinished: Gate;
  /** What the late publication saw when it went on after the client left. */
  let late: { stoppedBeforeAdd: boolean | null; stopsAfterOnStop: number | null };
  let stopped: number;
  let finished: number;
  const rejections: unknown[] = [];
  const trap = (reason: unknown): void => {
    rejections.push(reason);
  };

  before(() => {
    process.on('unhandledRejection', trap);
  });
  after(() => {
    process.off('unhandledRejection', trap);
  });

  beforeEach(async () => {
    release = gate();
    started = gate();
    publicationGate = gate();
    lateFinished = gate();
    late = { stoppedBeforeAdd: null, stopsAfterOnStop: null };
    stopped = 0;
    finished = 0;
    rejections.length = 0;
    logs = captureLogger();
    server = await startServer({ logger: logs.logger }, (s) => {
      s.methods({
        async slow() {
          started.open();
          await release.promise;
          finished++;
          return 'late';
        },
        async slowUnblocked() {
          this.unblock();
          await release.promise;
          finished++;
          return 'late too';
        },
        async slowFailing() {
          await release.promise;
          finished++;
          throw new Error('fails after the client left');
        },
        quick: () => 'quick',
      });
      s.publish('docs', function (n: unknown) {
        for (let i = 0; i < Number(n); i++) this.added('things', `t${i}`, { i, blob: 'x'.repeat(100) });
        const timer = setInterval(() => {
          if (Number(n) > 0) this.changed('things', 't0', { at: Date.now() });
        }, 5);
        this.onStop(() => {
          clearInterval(timer);
          stopped++;
        });
        this.ready();
      });
      s.publish('late', async function () {
        await publicationGate.promise;
        // Whether the server already ended it: added() must then be dropped, not sent.
        const before = stopped;
        this.onStop(() => stopped++);
        late.stoppedBeforeAdd = stopped > before;
        this.added('late', 'x', { a: 1 });
        this.ready();
        late.stopsAfterOnStop = stopped;
        lateFinished.open();
      });
    });
  });
  afterEach(async () => {
    release.open();
    publicationGate.open();
    closeClients();
    await stopServers();
  });

  function noErrors(): void {
    expect(logs.lines.filter((l) => l.level === 'error').map((l) => l.message)).to.deep.equal([]);
    expect(rejections.map(String)).to.deep.equal([]);
  }

  for (const how of ['terminate', 'close', 'disconnect'] as const) {
    it(`${how}: a slow method running, methods queued behind it, subscriptions with documents → all counts back to zero`, async () => {
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'sub', id: 's1', name: 'docs', params: [50] });
      client.send({ msg: 'sub', id: 's2', name: 'docs', params: [10] });
      await client.waitFor((m) => m.msg === 'ready' && m.subs.includes('s2'));
      client.send({ msg: 'method', method: 'slowUnblocked', params: [], id: 'u' });
      client.send({ msg: 'method', method: 'slow', params: [], id: 'm1' });
      for (let i = 0; i < 20; i++) client.send({ msg: 'method', method: i % 2 ? 'quick' : 'slowFailing', params: [], id: `q${i}` });
      await started.promise;
      await eventually(() => server.stats().queuedMessages === 20, 2000, 'queued methods');
      const during = server.stats();
      expect(during).to.include({ sessions: 1, subscriptions: 2, documents: 50 });
      expect(during.methodsInFlight).to.equal(22);
      if (how === 'terminate') client.terminate();
      else if (how === 'close') client.close();
      else client.send({ msg: 'disconnect' });
      await client.closed;
      // The session is gone at once, its queue dropped and its subscriptions stopped; the two
      // running methods go on (stats count only live sessions, so they no longer show).
      await eventually(() => server.stats().sessions === 0 && server.stats().sockets === 0, 2000, 'the session to end');
      expect(server.stats()).to.include({ queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 });
      expect(stopped).to.equal(2);
      release.open();
      await statsBackToZero(server);
      expect(finished, 'the running methods finished; the queued ones never ran').to.equal(2);
      noErrors();
    });
  }

  it('a publication still starting when the client leaves: it is ended before it goes on, its onStop runs at once, its added() is dropped', async () => {
    // A second client on the same publication, that stays: it gets the document, so the
    // publication does add when its client is there (the check below can fail).
    const stays = await RawClient.handshake(server.url);
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'late', name: 'late', params: [] });
    await eventually(() => server.stats().subscriptions === 1, 2000, 'the subscription');
    client.terminate();
    await client.closed;
    await eventually(() => server.stats().sessions === 1, 2000, 'the session to end');
    publicationGate.open();
    await lateFinished.promise;
    expect(late, 'the subscription was already stopped; onStop registered then ran at once').to.deep.equal({ stoppedBeforeAdd: true, stopsAfterOnStop: 1 });
    expect(server.stats(), 'nothing was added for the session that left').to.include({ subscriptions: 0, documents: 0 });
    // The same publication for a client that stayed does add and send its document.
    lateFinished = gate();
    stays.send({ msg: 'sub', id: 'late2', name: 'late', params: [] });
    await stays.waitFor((m) => m.msg === 'added' && m.collection === 'late' && m.id === 'x');
    await lateFinished.promise;
    expect(late.stoppedBeforeAdd).to.equal(false);
    expect(server.stats()).to.include({ subscriptions: 1, documents: 1 });
    stays.close();
    await stays.closed;
    await statsBackToZero(server);
    noErrors();
  });

  it('a login in flight (bcrypt off the loop) when the client leaves: the session ends clean, other clients unaffected', async () => {
    const services = await server.services.get();
    await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'alice', password: 'alice-password' });
    const digest = sha256Hex('alice-password');
    const leavers = await Promise.all(Array.from({ length: 10 }, () => RawClient.handshake(server.url)));
    for (const c of leavers) c.send({ msg: 'method', method: 'login', params: [{ user: { username: 'alice' }, password: { digest, algorithm: 'sha-256' } }], id: 'l' });
    for (const c of leavers) c.terminate();
    const stayer = await RawClient.handshake(server.url);
    const result = await stayer.call('login', [{ user: { username: 'alice' }, password: { digest, algorithm: 'sha-256' } }], 'ok');
    expect(result.result.id).to.be.a('string');
    stayer.close();
    await stayer.closed;
    await statsBackToZero(server);
    noErrors();
  });

  it('1 000 connections opened, used and dropped at random: back to zero', async () => {
    const batch = async (n: number): Promise<void> => {
      const clients = await Promise.all(Array.from({ length: n }, () => RawClient.handshake(server.url)));
      clients.forEach((c, i) => {
        c.send({ msg: 'sub', id: 's', name: 'docs', params: [i % 5] });
        c.send({ msg: 'method', method: i % 3 === 0 ? 'slowUnblocked' : 'quick', params: [], id: 'm' });
        if (i % 4 === 0) c.terminate();
        else if (i % 4 === 1) c.send({ msg: 'disconnect' });
        else c.close();
      });
      await Promise.all(clients.map((c) => c.closed));
    };
    for (let i = 0; i < 10; i++) await batch(100);
    release.open();
    await statsBackToZero(server, 10_000);
    noErrors();
  });
});
