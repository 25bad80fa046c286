import { expect } from 'chai';
import { captureLogger, gate, startServer, stopServers } from '../helpers/server.js';
import { closeClients, RawClient, type Msg } from '../helpers/raw-client.js';
import { DdpError, Match, type DdpServer } from '../../server/index.js';

describe('server: methods', () => {
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it("sends 0, false, '' and null as results, and omits result for undefined", async () => {
    const server = await startServer({}, (s) => s.methods({
      zero: () => 0,
      no: () => false,
      empty: () => '',
      nothing: () => null,
      undef: () => undefined,
      asyncZero: async () => 0,
      asyncUndef: async () => undefined,
    }));
    const client = await RawClient.handshake(server.url);
    for (const name of ['zero', 'no', 'empty', 'nothing', 'undef', 'asyncZero', 'asyncUndef']) await client.call(name, [], name);
    const results = client.messageTexts.filter((t) => t.startsWith('{"msg":"result"'));
    expect(results).to.deep.equal([
      '{"msg":"result","id":"zero","result":0}',
      '{"msg":"result","id":"no","result":false}',
      '{"msg":"result","id":"empty","result":""}',
      '{"msg":"result","id":"nothing","result":null}',
      '{"msg":"result","id":"undef"}',
      '{"msg":"result","id":"asyncZero","result":0}',
      '{"msg":"result","id":"asyncUndef"}',
    ]);
  });

  it('carries EJSON both ways: dates, binaries, non-finite numbers, $-keys', async () => {
    const server = await startServer({}, (s) => s.methods({
      inspect(value: { when: Date; bytes: Uint8Array; inf: number; esc: Record<string, unknown> }) {
        return {
          isDate: value.when instanceof Date, isBytes: value.bytes instanceof Uint8Array, inf: value.inf, esc: value.esc,
          later: new Date(value.when.getTime() + 1), reversed: Uint8Array.from(value.bytes).reverse(),
        };
      },
    }));
    const client = await RawClient.handshake(server.url);
    client.send('{"msg":"method","method":"inspect","params":[{"when":{"$date":1000},"bytes":{"$binary":"AQI="},"inf":{"$InfNaN":-1},"esc":{"$escape":{"$date":"x"}}}],"id":"e"}');
    const { result } = await client.waitFor((m) => m.msg === 'result');
    expect(result).to.deep.include({ isDate: true, isBytes: true, inf: -Infinity, esc: { $date: 'x' } });
    expect(result.later).to.deep.equal(new Date(1001));
    expect(result.reversed).to.deep.equal(new Uint8Array([2, 1]));
    const text = client.messageTexts.find((t) => t.startsWith('{"msg":"result"'))!;
    expect(text).to.include('"later":{"$date":1001}').and.include('"reversed":{"$binary":"AgE="}').and.include('{"$escape":{"$date":"x"}}');
  });

  describe('errors', () => {
    let server: DdpServer;
    let logs: ReturnType<typeof captureLogger>;
    beforeEach(async () => {
      logs = captureLogger();
      server = await startServer({ logger: logs.logger }, (s) => {
        s.methods({
          ok: () => 'ok',
          refuse() {
            throw new DdpError('not-allowed', 'You may not', { why: 'because', at: new Date(3) });
          },
          async refuseLater() {
            throw new DdpError(403, 'Later no');
          },
          clientSafeShape() {
            throw Object.assign(new Error('x'), { isClientSafe: true, error: 'shaped', reason: 'Shaped like Meteor.Error' });
          },
          crash() {
            throw new Error('secret database password in message');
          },
          async crashLater() {
            throw new TypeError('secret async failure');
          },
          throwsString() {
            // eslint-disable-next-line @typescript-eslint/only-throw-error
            throw 'a bare string';
          },
          typed: { params: [String, Match.Optional(Number)], handler: (s: string) => s },
          limited: () => 'fine',
          bigint: () => ({ n: 10n }),
          refuseBigDetails() {
            throw new DdpError('odd', 'Odd details', { n: 1n });
          },
          asyncBigint: async () => [1n],
          circular() {
            const loop: Record<string, unknown> = { a: 1 };
            loop.self = loop;
            return loop;
          },
        });
        s.addRateLimitRule({ type: 'method', name: 'limited', numRequests: 2, timeIntervalMs: 60_000 });
      });
    });

    it('sends exactly one result and one updated per call, for every outcome', async () => {
      const client = await RawClient.handshake(server.url);
      const calls: [string, string, unknown[]][] = [
        ['a', 'ok', []], ['b', 'refuse', []], ['c', 'refuseLater', []], ['d', 'nope', []], ['e', 'typed', [5]],
        ['f', 'crash', []], ['g', 'crashLater', []], ['h', 'limited', []], ['i', 'limited', []], ['j', 'limited', []],
        ['k', 'throwsString', []], ['l', 'clientSafeShape', []],
      ];
      for (const [id, method, params] of calls) client.send({ msg: 'method', method, params, id });
      await client.sync();
      for (const [id] of calls) {
        expect(client.messages.filter((m) => m.msg === 'result' && m.id === id), `result ${id}`).to.have.length(1);
        expect(client.messages.filter((m) => m.msg === 'updated' && m.methods.includes(id)), `updated ${id}`).to.have.length(1);
      }
      // `updated` follows its `result` directly.
      for (const [id] of calls) {
        const i = client.messages.findIndex((m) => m.msg === 'result' && m.id === id);
        expect(client.messages[i + 1]).to.deep.equal({ msg: 'updated', methods: [id] });
      }
      // Results come in call order.
      const order = client.messages.filter((m) => m.msg === 'result').map((m) => m.id as string);
      expect(order.slice(0, calls.length)).to.deep.equal(calls.map(([id]) => id));
    });

    const result = async (method: string, params: unknown[] = []): Promise<Msg> => {
      const client = await RawClient.handshake(server.url);
      return client.call(method, params, 'x');
    };

    it("sends a thrown DdpError in Meteor's shape, details included", async () => {
      const r = await result('refuse');
      expect(Object.keys(r)).to.deep.equal(['msg', 'id', 'error']);
      expect(r.error).to.deep.equal({ isClientSafe: true, error: 'not-allowed', reason: 'You may not', details: { why: 'because', at: new Date(3) }, message: 'You may not [not-allowed]', errorType: 'Meteor.Error' });
      expect((await result('refuseLater')).error).to.deep.include({ error: 403, reason: 'Later no' });
      expect((await result('clientSafeShape')).error).to.deep.include({ error: 'shaped', reason: 'Shaped like Meteor.Error', message: 'Shaped like Meteor.Error [shaped]' });
    });

    it("answers an unknown method with 404 Method 'x' not found", async () => {
      expect((await result('no.such.method')).error).to.deep.equal({ isClientSafe: true, error: 404, reason: "Method 'no.such.method' not found", message: "Method 'no.such.method' not found [404]", errorType: 'Meteor.Error' });
    });

    it('answers parameters that fail the params patterns with 400 Match failed', async () => {
      expect((await result('typed', [5])).error).to.deep.include({ error: 400, reason: 'Match failed' });
      expect((await result('typed', ['a', 'b'])).error).to.deep.include({ error: 400, reason: 'Match failed' });
      expect((await result('typed', ['a', 1, 2])).error).to.deep.include({ error: 400, reason: 'Match failed' });
      expect((await result('typed', ['a', 1])).result).to.equal('a');
      expect((await result('typed', ['a'])).result).to.equal('a');
    });

    it('answers internal errors with 500, logging the real error and never sending it', async () => {
      for (const [method, secret] of [['crash', 'secret database password'], ['crashLater', 'secret async failure'], ['throwsString', 'a bare string']] as const) {
        const client = await RawClient.handshake(server.url);
        const r = await client.call(method, [], 'x');
        expect(r.error).to.deep.equal({ isClientSafe: true, error: 500, reason: 'Internal server error', message: 'Internal server error [500]', errorType: 'Meteor.Error' });
        expect(client.messageTexts.join('\n')).to.not.include('secret').and.not.include('stack').and.not.include('bare string');
        const line = await logs.waitFor((l) => l.level === 'error' && JSON.stringify(l.fields).includes(secret));
        expect(line.fields).to.include({ method, methodId: 'x', connectionId: client.session });
      }
    });

    it('answers a result that cannot be encoded with 500, logging why', async () => {
      const client = await RawClient.handshake(server.url);
      for (const [id, method] of [['1', 'bigint'], ['2', 'asyncBigint'], ['3', 'circular'], ['4', 'refuseBigDetails']]) client.send({ msg: 'method', method, params: [], id });
      await client.sync();
      for (const id of ['1', '2', '3', '4']) {
        expect(client.messages.filter((m) => m.msg === 'result' && m.id === id).map((m) => m.error?.error), id).to.deep.equal([500]);
        expect(client.messages.filter((m) => m.msg === 'updated' && m.methods[0] === id), id).to.have.length(1);
      }
      await logs.waitFor((l) => l.level === 'error' && l.fields.method === 'circular');
      expect((await client.call('ok')).result).to.equal('ok');
    });

    it('answers rate-limited calls with too-many-requests and details.timeToReset', async () => {
      const client = await RawClient.handshake(server.url);
      expect((await client.call('limited', [], '1')).result).to.equal('fine');
      expect((await client.call('limited', [], '2')).result).to.equal('fine');
      const { error } = await client.call('limited', [], '3');
      expect(error.error).to.equal('too-many-requests');
      expect(error.details.timeToReset).to.be.a('number').within(1, 60_000);
      expect(error.reason).to.match(/^Error, too many requests\. Please slow down\. You must wait \d+ seconds before trying again\.$/);
      expect(Object.keys(error.details)).to.deep.equal(['timeToReset']);
      // Other methods are not limited by this rule.
      expect((await client.call('ok', [], '4')).result).to.equal('ok');
    });

    it('applies a rule added after calls that matched no rule, and forgets a removed one', async () => {
      const client = await RawClient.handshake(server.url);
      // 'ok' matched no rule so far (the limiter remembers that per name): a new rule must count it.
      expect((await client.call('ok', [], 'a')).result).to.equal('ok');
      const id = server.addRateLimitRule({ type: 'method', name: ['ok'], numRequests: 1, timeIntervalMs: 60_000 });
      expect((await client.call('ok', [], 'b')).result).to.equal('ok');
      expect((await client.call('ok', [], 'c')).error).to.deep.include({ error: 'too-many-requests' });
      expect(server.removeRateLimitRule(id)).to.equal(true);
      expect((await client.call('ok', [], 'd')).result).to.equal('ok');
    });
  });

  describe('the per-connection queue', () => {
    it('runs methods one at a time, in arrival order', async () => {
      const log: string[] = [];
      const release = gate();
      const server = await startServer({}, (s) => s.methods({
        async first() {
          log.push('first:start');
          await release.promise;
          log.push('first:end');
          return 1;
        },
        second() {
          log.push('second');
          return 2;
        },
      }));
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'method', method: 'first', params: [], id: '1' });
      client.send({ msg: 'method', method: 'second', params: [], id: '2' });
      // A ping is answered outside the queue: once its pong is back, 'second' has arrived and waits.
      client.send({ msg: 'ping', id: 'p' });
      await client.waitFor((m) => m.msg === 'pong');
      expect(log).to.deep.equal(['first:start']);
      release.open();
      await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === '2');
      expect(log).to.deep.equal(['first:start', 'first:end', 'second']);
      expect(client.messages.filter((m) => m.msg === 'result').map((m) => m.id)).to.deep.equal(['1', '2']);
    });

    it('lets the next method run first when a method calls this.unblock()', async () => {
      const release = gate();
      const server = await startServer({}, (s) => s.methods({
        async patient() {
          this.unblock();
          await release.promise;
          return 'patient';
        },
        quick: () => 'quick',
      }));
      const client = await RawClient.handshake(server.url);
      client.send({ msg: 'method', method: 'patient', params: [], id: 'p' });
      client.send({ msg: 'method', method: 'quick', params: [], id: 'q' });
      await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === 'q');
      expect(client.messages.some((m) => m.id === 'p')).to.equal(false);
      release.open();
      await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === 'p');
      expect(client.messages.filter((m) => m.msg === 'result').map((m) => m.result)).to.deep.equal(['quick', 'patient']);
    });

    it('is never blocked by a failing method, synchronous or not', async () => {
      const server = await startServer({}, (s) => s.methods({
        throws() {
          throw new Error('sync failure');
        },
        async rejects() {
          await Promise.resolve();
          throw new DdpError('nope');
        },
        async unblockThenThrow() {
          this.unblock();
          this.unblock();
          throw new Error('after unblock');
        },
        fine: () => 'fine',
      }));
      const client = await RawClient.handshake(server.url);
      for (const [id, method] of [['1', 'throws'], ['2', 'rejects'], ['3', 'unblockThenThrow'], ['4', 'fine']]) client.send({ msg: 'method', method, params: [], id });
      await client.sync();
      const outcomes = client.messages.filter((m) => m.msg === 'result' && m.id.length === 1).map((m) => [m.id, m.error?.error ?? m.result]);
      // 3 unblocked before failing, so 4 may overtake it.
      expect(outcomes.slice(0, 2)).to.deep.equal([['1', 500], ['2', 'nope']]);
      expect(outcomes.slice(2).sort()).to.deep.equal([['3', 500], ['4', 'fine']]);
    });

    it('refuses methods past maxMethodsInFlight, then takes them again', async () => {
      const release = gate();
      const server = await startServer({ maxMethodsInFlight: 2 }, (s) => s.methods({
        async slow() {
          await release.promise;
          return 'slow';
        },
      }));
      const client = await RawClient.handshake(server.url);
      for (const id of ['1', '2', '3']) client.send({ msg: 'method', method: 'slow', params: [], id });
      const refused = await client.waitFor((m) => m.msg === 'result');
      expect(refused).to.deep.include({ id: '3' });
      expect(refused.error).to.deep.include({ error: 'too-many-methods', reason: 'Too many methods in flight on this connection' });
      expect(await client.next()).to.deep.equal({ msg: 'updated', methods: ['3'] });
      release.open();
      await client.waitFor((m) => m.msg === 'updated' && m.methods[0] === '2');
      expect((await client.call('slow', [], '4')).result).to.equal('slow');
      expect(server.stats().methodsInFlight).to.equal(0);
    });
  });

  it('gives methods their this: userId, connection, randomSeed, name, call', async () => {
    const server = await startServer({}, (s) => s.methods({
      whoami(this: import('../../server/index.js').MethodThis) {
        return { name: this.name, userId: this.userId, connection: this.connection?.id, seed: this.randomSeed ?? null, simulation: this.isSimulation };
      },
      nested() {
        return this.call('whoami');
      },
    }));
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'method', method: 'whoami', params: [], id: 'w', randomSeed: 'seed123' });
    expect((await client.waitFor((m) => m.msg === 'result')).result).to.deep.equal({ name: 'whoami', userId: null, connection: client.session, seed: 'seed123', simulation: false });
    expect((await client.call('nested', [], 'n')).result).to.deep.include({ name: 'whoami', connection: client.session });
    expect(await server.call('whoami')).to.deep.equal({ name: 'whoami', userId: null, connection: undefined, seed: null, simulation: false });
  });

  it('throws on duplicate method or publication names', async () => {
    const server = await startServer({}, (s) => {
      s.methods({ a: () => 1 });
      s.publish('p', () => undefined);
    });
    expect(() => server.methods({ a: () => 2 })).to.throw(/'a' is already defined/);
    expect(() => server.publish('p', () => undefined)).to.throw(/'p' is already defined/);
    const client = await RawClient.handshake(server.url);
    expect((await client.call('a')).result).to.equal(1);
  });
});

describe('server: hooks in front of methods and publications', () => {
  let server: DdpServer;
  beforeEach(async () => {
    server = await startServer({}, (s) => {
      s.methods({
        'test.setUser'(id: string | null) {
          return this.setUserId(id);
        },
        members: { requireUser: true, handler() { return `hello ${String(this.userId)}`; } },
        perConnection: { rateLimit: { numRequests: 1, timeIntervalMs: 60_000 }, handler: () => 'ok' },
      });
      s.publish('private', function () {
        this.added('private', 'p', { owner: this.userId });
        this.ready();
      }, { requireUser: true });
      s.publish('typed', function (n: number) {
        this.added('typed', String(n), {});
        this.ready();
      }, { params: [Match.Integer] });
    });
  });
  afterEach(async () => {
    closeClients();
    await stopServers();
  });

  it('requireUser: 401 for anonymous callers, the handler once logged in', async () => {
    const client = await RawClient.handshake(server.url);
    expect((await client.call('members')).error).to.deep.include({ error: 401, reason: 'You must be logged in' });
    await client.call('test.setUser', ['u7']);
    expect((await client.call('members')).result).to.equal('hello u7');
  });

  it('requireUser publications: nosub 401 when anonymous; a logout ends them with removed, then nosub 401', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'a', name: 'private', params: [] });
    expect((await client.waitFor((m) => m.msg === 'nosub')).error).to.deep.include({ error: 401 });
    await client.call('test.setUser', ['u7']);
    client.send({ msg: 'sub', id: 'b', name: 'private', params: [] });
    await client.waitFor((m) => m.msg === 'ready');
    const mark = client.mark();
    await client.call('test.setUser', [null]);
    const after = client.since(mark).filter((m) => m.msg === 'removed' || m.msg === 'nosub');
    expect(after).to.have.length(2);
    expect(after).to.deep.include({ msg: 'removed', collection: 'private', id: 'p' });
    expect(after.find((m) => m.msg === 'nosub')).to.deep.include({ id: 'b' }).and.nested.include({ 'error.error': 401 });
  });

  it('publication params: nosub 400 Match failed', async () => {
    const client = await RawClient.handshake(server.url);
    client.send({ msg: 'sub', id: 'x', name: 'typed', params: ['one'] });
    expect((await client.waitFor((m) => m.msg === 'nosub')).error).to.deep.include({ error: 400, reason: 'Match failed' });
    client.send({ msg: 'sub', id: 'y', name: 'typed', params: [1] });
    expect((await client.waitFor((m) => m.msg === 'ready')).subs).to.deep.equal(['y']);
  });

  it('a per-method rateLimit counts each connection on its own', async () => {
    const a = await RawClient.handshake(server.url);
    const b = await RawClient.handshake(server.url);
    expect((await a.call('perConnection')).result).to.equal('ok');
    expect((await a.call('perConnection')).error).to.deep.include({ error: 'too-many-requests' });
    expect((await b.call('perConnection')).result).to.equal('ok');
  });
});
