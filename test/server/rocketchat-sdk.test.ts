/**
 * Interoperability with Rocket.Chat's own Node SDK, `@rocket.chat/sdk` 1.0 (pre-release, the
 * `Rocketchat` client): its REST `login` (which reads `data.me.username`), then its DDP driver
 * resuming with the REST token, method calls with a 2FA retry, a subscription, REST `me` and
 * `logout`, against a real ddp-guard server.
 */
import { expect } from 'chai';
import { Rocketchat } from '@rocket.chat/sdk';
import { createUser, enrollTotp, login, nextTotp, passwordCode, startHttpServer, PASSWORD, type HttpEnv } from '../http/support.js';

/** The SDK logs through this; the tests keep it quiet. */
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, warning: () => undefined, error: () => undefined };

/** What the SDK rejects a DDP call with: the DDP `error` object. */
interface DdpErrorShape {
  error: string | number;
  reason?: string;
  details?: { method?: string; availableMethods?: string[] };
}

async function rejection(promise: Promise<unknown>): Promise<DdpErrorShape> {
  try {
    await promise;
  } catch (err) {
    return err as DdpErrorShape;
  }
  throw new Error('expected a rejection');
}

describe('server: interoperability with @rocket.chat/sdk 1.0 (Rocket.Chat\'s Node SDK)', () => {
  let env: HttpEnv;
  let aliceId: string;
  let client: Rocketchat;

  beforeEach(async () => {
    env = await startHttpServer();
    env.server.publish('rooms', function (prefix: unknown) {
      this.added('rooms', 'r1', { name: `${String(prefix)}-general`, owner: this.userId });
      this.ready();
    });
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
    client = new Rocketchat({ host: env.base, protocol: 'ddp', logger: quiet });
  });

  afterEach(async () => {
    await client.disconnect();
    await env.stop();
  });

  it('logs in over REST (data.me.username), resumes the DDP session with that token, and calls methods', async () => {
    await client.connect({});
    await client.login({ username: 'alice', password: PASSWORD });
    expect(client.currentLogin).to.include({ username: 'alice', userId: aliceId });
    expect(client.username).to.equal('alice');
    expect(await client.methodCall('whoami')).to.equal(aliceId);
    const echoed = (await client.methodCall('echo', 'hi', 3)) as unknown as { params: unknown[] };
    expect(echoed.params).to.deep.equal(['hi', 3]);
  });

  it('a guarded method: the SDK gets totp-required, and the retry with {twoFactorCode, twoFactorMethod} passes', async () => {
    await client.login({ username: 'alice', password: PASSWORD });
    const refused = await rejection(client.methodCall('rooms.delete', 'r1'));
    expect(refused).to.deep.include({ error: 'totp-required', reason: 'TOTP Required' });
    expect(refused.details).to.deep.include({ method: 'password', availableMethods: [] });
    const deleted = await client.methodCall('rooms.delete', 'r1', { twoFactorCode: passwordCode(), twoFactorMethod: 'password' });
    expect(deleted).to.deep.equal({ deleted: 'r1', params: 1 });
  });

  it('a TOTP user logs in over REST with the code in the body, as the SDK passes extra login arguments', async () => {
    const secret = await enrollTotp(env, await login(env, 'alice'));
    const refused = await rejection(client.login({ username: 'alice', password: PASSWORD }));
    expect(refused).to.deep.include({ status: 401 });
    await client.login({ username: 'alice', password: PASSWORD, code: nextTotp(env, secret) } as Parameters<Rocketchat['login']>[0]);
    expect(await client.methodCall('whoami')).to.equal(aliceId);
  });

  it('subscribes through its driver and reads REST me; logout ends the REST token', async () => {
    await client.login({ username: 'alice', password: PASSWORD });
    const subscription = await client.subscribe('rooms', 'team');
    expect(subscription.name).to.equal('rooms');
    const me = (await client.get('me')) as { _id: string; username: string; success: boolean };
    expect(me).to.include({ _id: aliceId, username: 'alice', success: true });
    const token = client.currentLogin!.authToken;
    const out = (await client.logout()) as { status: string; data: { message: string } };
    expect(out).to.deep.include({ status: 'success', data: { message: "You've been logged out!" } });
    const after = await fetch(`${env.base}/api/v1/me`, { headers: { 'x-user-id': aliceId, 'x-auth-token': token } });
    expect(after.status).to.equal(401);
  });
});
