/**
 * A typed method map against the real server: the calls compile with their parameter and
 * result types (the `@ts-expect-error` lines fail the build if a wrong call starts to
 * type-check), and the values that come back have the promised shapes, EJSON dates included.
 */
import { expect } from 'chai';
import { connectNode, DdpError, type DdpClient } from '../../client/node.js';
import type { GuardServer } from '../../server/index.js';
import { ManualClock, PASSWORD, T0, addUser, cleanup, connectClient, startGuardServer, within } from './support.js';

/** The application's promise about its server's methods. */
interface ShopApi {
  add(a: number, b: number): number;
  order(item: { sku: string; qty: number }, at: Date): Promise<{ id: string; total: number; at: Date }>;
  whoami(): string | null;
  nothing(): void;
}

function setup(server: GuardServer): void {
  server.methods({
    add: (a: number, b: number) => a + b,
    order: (item: { sku: string; qty: number }, at: Date) => ({ id: `o-${item.sku}`, total: item.qty * 3, at: new Date(at.getTime() + 1000) }),
    whoami() {
      return this.userId;
    },
    nothing: () => undefined,
  });
}

describe('client e2e: typed method map', () => {
  let server: GuardServer;

  beforeEach(async () => {
    server = await startGuardServer({ clock: new ManualClock(T0), setup });
  });

  afterEach(cleanup);

  it('calls typed methods and gets typed results', async () => {
    const client: DdpClient<ShopApi> = await connectClient<ShopApi>(server);
    const userId = (await addUser(server, 'tom')).id;

    const sum: number = await within(client.call('add', 2, 40), 5_000, 'add');
    expect(sum).to.equal(42);

    const at = new Date(T0);
    const order = await within(client.call('order', { sku: 'ab', qty: 4 }, at), 5_000, 'order');
    const total: number = order.total;
    const when: Date = order.at;
    expect(order.id).to.equal('o-ab');
    expect(total).to.equal(12);
    expect(when).to.be.instanceOf(Date);
    expect(when.getTime()).to.equal(T0 + 1000);

    const nothing: void = await within(client.call('nothing'), 5_000, 'nothing');
    expect(nothing).to.equal(undefined);

    expect(await within(client.call('whoami'), 5_000, 'whoami before login')).to.equal(null);
    await within(client.loginWithPassword('tom', PASSWORD), 5_000, 'login');
    const me: string | null = await within(client.apply('whoami', [], { timeoutMs: 2_000 }), 5_000, 'whoami');
    expect(me).to.equal(userId);

    // Compile-time only: never run.
    const wrong = (): void => {
      // @ts-expect-error a string where a number is expected
      void client.call('add', '2', 40);
      // @ts-expect-error a missing parameter
      void client.call('add', 2);
      // @ts-expect-error a method the map does not have
      void client.call('refund', 1);
      // @ts-expect-error the result is a number, not a string
      const s: Promise<string> = client.call('add', 1, 2);
      void s;
    };
    void wrong;
  });

  it('an unknown method still fails at run time with 404 when the map lies', async () => {
    const client = await within(connectNode<{ missing(): number }>(server.url), 5_000, 'connect');
    try {
      const error = await within(client.call('missing').then(() => undefined, (e: unknown) => e), 5_000, 'missing');
      expect(error).to.be.instanceOf(DdpError);
      expect((error as DdpError).error).to.equal(404);
      expect((error as DdpError).reason).to.equal("Method 'missing' not found");
    } finally {
      client.close();
    }
  });
});
