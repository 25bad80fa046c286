/** Pure units of the client: backoff, URLs, options, login argument shapes, the local collection, the emitter. */
import { expect } from 'chai';
import { backoffDelay, type BackoffOptions } from '../../client/backoff.js';
import { toWebSocketUrl } from '../../client/socket.js';
import { CLIENT_DEFAULTS, normalizeClientOptions } from '../../client/options.js';
import { userSelector } from '../../client/account.js';
import { LocalCollection, type AddedEvent, type ChangedEvent, type RemovedEvent } from '../../client/collection.js';
import { Emitter } from '../../client/emitter.js';
import type { WebSocketConstructor } from '../../client/socket.js';
import { DdpClient } from '../../client/index.js';

const fakeWs = class {} as unknown as WebSocketConstructor;

describe('client units', () => {
  describe('backoffDelay', () => {
    const base: BackoffOptions = { minDelayMs: 1000, maxDelayMs: 300_000, factor: 2.2, jitter: 0.5, random: () => 0.5 };

    it("grows like Meteor's Retry: ~1 s, then ×2.2, capped at 5 min", () => {
      expect([0, 1, 2, 3].map((n) => backoffDelay(n, base))).to.deep.equal([1000, 2200, 4840, 10648]);
      expect(backoffDelay(20, base)).to.equal(300_000);
    });

    it('spreads delays by the jitter, never above the maximum', () => {
      expect(backoffDelay(0, { ...base, random: () => 0 })).to.equal(750);
      expect(backoffDelay(0, { ...base, random: () => 0.999999 })).to.equal(1250);
      expect(backoffDelay(30, { ...base, random: () => 0.999999 })).to.equal(300_000);
    });
  });

  it('toWebSocketUrl accepts http(s) URLs as Meteor does', () => {
    expect(toWebSocketUrl('http://localhost:3000')).to.equal('ws://localhost:3000/websocket');
    expect(toWebSocketUrl('https://chat.example.com/')).to.equal('wss://chat.example.com/websocket');
    expect(toWebSocketUrl('http://h:1/custom')).to.equal('ws://h:1/custom');
    expect(toWebSocketUrl('ws://h:1/websocket')).to.equal('ws://h:1/websocket');
  });

  describe('normalizeClientOptions', () => {
    it('applies the documented defaults', () => {
      const o = normalizeClientOptions({ WebSocket: fakeWs });
      expect(o.connectTimeoutMs).to.equal(10_000);
      expect(o.callTimeoutMs).to.equal(30_000);
      expect(o.maxQueuedCalls).to.equal(100);
      expect(o.maxTwoFactorAttempts).to.equal(3);
      expect(o.minDelayMs).to.equal(1000);
      expect(o.maxDelayMs).to.equal(300_000);
      expect(Object.isFrozen(CLIENT_DEFAULTS)).to.equal(true);
    });

    it('rejects bad values when the client is created, naming the option', () => {
      expect(() => new DdpClient('ws://x', { WebSocket: fakeWs, callTimeoutMs: -1 })).to.throw(TypeError, /callTimeoutMs/);
      expect(() => new DdpClient('ws://x', { WebSocket: fakeWs, maxQueuedCalls: 1.5 })).to.throw(TypeError, /maxQueuedCalls/);
      expect(() => new DdpClient('ws://x', { WebSocket: fakeWs, minDelayMs: 10, maxDelayMs: 5 })).to.throw(TypeError, /maxDelayMs/);
    });

    it('asks for a WebSocket constructor when there is no global one', () => {
      const g = globalThis as { WebSocket?: unknown };
      const saved = g.WebSocket;
      g.WebSocket = undefined; // Node ≥ 22 has a global one; Node 20 and old browsers do not.
      try {
        expect(() => new DdpClient('ws://x')).to.throw(TypeError, /WebSocket/);
      } finally {
        g.WebSocket = saved;
      }
    });
  });

  it("userSelector: a string with '@' is an email, else a username; objects pass through", () => {
    expect(userSelector('alice')).to.deep.equal({ username: 'alice' });
    expect(userSelector('alice@example.com')).to.deep.equal({ email: 'alice@example.com' });
    expect(userSelector({ id: 'u1' })).to.deep.equal({ id: 'u1' });
  });

  describe('LocalCollection', () => {
    function collect(): { coll: LocalCollection; events: Array<[string, AddedEvent | ChangedEvent | RemovedEvent]> } {
      const events: Array<[string, AddedEvent | ChangedEvent | RemovedEvent]> = [];
      const coll = new LocalCollection('things', {
        added: (e) => events.push(['added', e]),
        changed: (e) => events.push(['changed', e]),
        removed: (e) => events.push(['removed', e]),
      });
      return { coll, events };
    }

    it('applies added, changed (merge fields, delete cleared) and removed', () => {
      const { coll, events } = collect();
      coll.added('a', { x: 1, y: 2 });
      coll.changed('a', { y: 3, z: 4 }, ['x']);
      expect(coll.get('a')).to.deep.equal({ _id: 'a', y: 3, z: 4 });
      expect(coll.size).to.equal(1);
      coll.removed('a');
      expect(coll.get('a')).to.equal(undefined);
      expect(events).to.deep.equal([
        ['added', { collection: 'things', id: 'a', fields: { x: 1, y: 2 } }],
        ['changed', { collection: 'things', id: 'a', fields: { y: 3, z: 4 }, cleared: ['x'] }],
        ['removed', { collection: 'things', id: 'a', fields: { y: 3, z: 4 } }],
      ]);
    });

    it('hands out copies, so callers cannot corrupt the store', () => {
      const { coll } = collect();
      coll.added('a', { x: 1 });
      const doc = coll.get('a')!;
      doc.x = 99;
      expect(coll.get('a')).to.deep.equal({ _id: 'a', x: 1 });
      expect(coll.find((d) => d.x === 1)).to.have.length(1);
    });

    it('after a resync, drops documents the new session did not send again', () => {
      const { coll, events } = collect();
      coll.added('a', { x: 1 });
      coll.added('b', { x: 2 });
      coll.beginResync();
      coll.added('a', { x: 1 }); // same: no event
      coll.endResync();
      expect(coll.ids()).to.deep.equal(['a']);
      expect(events.map(([kind, e]) => `${kind}:${e.id}`)).to.deep.equal(['added:a', 'added:b', 'removed:b']);
    });
  });

  it('Emitter: once, off, and a throwing listener does not stop the others', async () => {
    class E extends Emitter<{ ping: [n: number] }> {
      fire(n: number): void {
        this.emit('ping', n);
      }
    }
    const e = new E();
    const seen: number[] = [];
    e.once('ping', (n) => seen.push(n * 10));
    const off = e.on('ping', (n) => seen.push(n));
    const uncaught: unknown[] = [];
    const listener = (err: unknown): void => {
      uncaught.push(err);
    };
    const original = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', listener);
    try {
      e.on('ping', () => {
        throw new Error('boom');
      });
      e.on('ping', (n) => seen.push(n + 100));
      e.fire(1);
      e.fire(2);
      off();
      e.fire(3);
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.removeListener('uncaughtException', listener);
      for (const l of original) process.on('uncaughtException', l);
    }
    expect(seen).to.deep.equal([10, 1, 101, 2, 102, 103]);
    expect(uncaught).to.have.length(3);
  });
});
