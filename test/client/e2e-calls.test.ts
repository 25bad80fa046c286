/** End to end against the real server: connecting, calls, EJSON, errors, timeouts. */
import { expect } from 'chai';
import { connectNode, DdpClient, type DdpClient as Client } from '../../client/node.js';
import { DdpError } from '../../protocol/index.js';
import type { DdpServer } from '../../server/index.js';
import { startServer } from './support/real-server.js';
import { delay, settle } from './support/wait.js';

/** The test server's methods, for typed calls. */
interface Api {
  echo(value: unknown): unknown;
  add(a: number, b: number): number;
  nothing(): void;
  describe(value: unknown): { isDate: boolean; isBytes: boolean; length: number | null };
  fail(): never;
  crash(): never;
  sleep(ms: number): string;
  whoAmI(): string | null;
}

describe('client end to end: calls', () => {
  let server: DdpServer;
  let client: Client<Api>;

  before(async () => {
    server = await startServer((s) => {
      s.methods({
        echo: (value: unknown) => value,
        add: (a: number, b: number) => a + b,
        nothing: () => undefined,
        describe: (value: unknown) => ({
          isDate: value instanceof Date,
          isBytes: value instanceof Uint8Array,
          length: value instanceof Uint8Array ? value.length : null,
        }),
        fail: () => {
          throw new DdpError('not-allowed', 'You may not', { room: 'r1', when: new Date(0) });
        },
        crash: () => {
          throw new Error('secret internal detail');
        },
        async sleep(ms: number) {
          this.unblock();
          await delay(ms);
          return 'woke';
        },
        whoAmI() {
          return this.userId;
        },
      });
    });
    client = await connectNode<Api>(server.url, { callTimeoutMs: 5000 });
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  it('connects and reports the status and the session', () => {
    expect(client.status).to.equal('connected');
    expect(client.sessionId).to.be.a('string').and.not.equal('');
  });

  it('returns results, keeping 0, false, null and the empty string', async () => {
    expect(await client.call('add', 2, 3)).to.equal(5);
    for (const value of [0, false, null, '']) expect(await client.call('echo', value)).to.equal(value);
    expect(await client.call('nothing')).to.equal(undefined);
    expect(await client.call('echo', { nested: [1, { a: null }] })).to.deep.equal({ nested: [1, { a: null }] });
  });

  it('round-trips EJSON dates and binaries both ways', async () => {
    const when = new Date('2024-02-29T12:34:56.789Z');
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const back = (await client.call('echo', { when, bytes })) as { when: Date; bytes: Uint8Array };
    expect(back.when).to.be.instanceOf(Date);
    expect(back.when.getTime()).to.equal(when.getTime());
    expect(back.bytes).to.be.instanceOf(Uint8Array);
    expect([...back.bytes]).to.deep.equal([...bytes]);
    expect(await client.call('describe', when)).to.deep.equal({ isDate: true, isBytes: false, length: null });
    expect(await client.call('describe', bytes)).to.deep.equal({ isDate: false, isBytes: true, length: 5 });
  });

  it('rebuilds errors as DdpError with error, reason and details', async () => {
    const outcome = await settle(client.call('fail'));
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('not-allowed');
    expect(error.reason).to.equal('You may not');
    expect(error.message).to.equal('You may not [not-allowed]');
    expect(error.details).to.deep.equal({ room: 'r1', when: new Date(0) });
  });

  it('gets 404 for an unknown method and 500 for a crash, without the internal detail', async () => {
    const untyped = client as unknown as DdpClient;
    const missing = (await settle(untyped.call('no.such.method'))) as { error: DdpError };
    expect(missing.error.error).to.equal(404);
    expect(missing.error.reason).to.equal("Method 'no.such.method' not found");
    const crash = (await settle(client.call('crash'))) as { error: DdpError };
    expect(crash.error.error).to.equal(500);
    expect(JSON.stringify(crash.error)).not.to.contain('secret');
  });

  it('times out a slow call with a clear error, and the connection stays usable', async () => {
    const outcome = await settle(client.apply('sleep', [300], { timeoutMs: 50 }));
    const error = (outcome as { error: DdpError }).error;
    expect(error).to.be.instanceOf(DdpError);
    expect(error.error).to.equal('timeout');
    expect(error.reason).to.equal("Method 'sleep' timed out after 50 ms");
    expect(await client.call('sleep', 10)).to.equal('woke');
  });

  it('resolves with waitForUpdated too', async () => {
    expect(await client.apply('add', [1, 1], { waitForUpdated: true })).to.equal(2);
  });

  it('runs many concurrent calls, each with its own answer', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call('add', i, i)));
    expect(results).to.deep.equal(Array.from({ length: 50 }, (_, i) => 2 * i));
  });

  it('is not logged in by default', async () => {
    expect(await client.call('whoAmI')).to.equal(null);
    expect(client.userId).to.equal(undefined);
  });
});
