/**
 * Interoperability with `@rocket.chat/sdk` 0.2.9, the SDK's current release (installed as
 * `rocketchat-sdk-legacy`; its git-hosted asteroid is replaced by asteroid 0.6.1 from the
 * registry through `overrides` in package.json). Its driver is asteroid, a Meteor-style client
 * that subscribes to `meteor.loginServiceConfiguration` on connect and logs in with a plain
 * password; its REST side logs in with `{username, password}` and logs out with `GET`.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { createUser, passwordCode, startHttpServer, PASSWORD, type HttpEnv } from '../http/support.js';

/** The little of asteroid 0.6 the tests reach (the SDK exposes its instance as `driver.asteroid`). */
interface Asteroid {
  userId?: string;
  subscriptions: Record<string, { _name: string; ready: PromiseLike<string> }>;
  ddp: { _autoreconnect: boolean; _socket: { close(): void } };
}

/** The little of the SDK 0.2.9 the tests use (its own types pull in @types/node 9). */
interface LegacySdk {
  driver: {
    useLog(logger: Record<'debug' | 'info' | 'warn' | 'warning' | 'error', () => void>): void;
    connect(options: { host: string; useSsl: boolean; timeout: number }): Promise<Asteroid>;
    login(credentials: { username: string; password: string }): Promise<string>;
    asyncCall(method: string, params: unknown[]): Promise<unknown>;
    logout(): Promise<unknown>;
  };
  api: {
    url: string;
    currentLogin: { userId: string; authToken: string } | null;
    login(user: { username: string; password: string }): Promise<{ status: string; data: { userId: string; authToken: string; me: { username: string } } }>;
    get(endpoint: string, data: null, auth: boolean): Promise<Record<string, unknown> | undefined>;
    logout(): Promise<void>;
  };
}

const sdk = createRequire(import.meta.url)('rocketchat-sdk-legacy') as LegacySdk;
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, warning: () => undefined, error: () => undefined };

describe('server: interoperability with @rocket.chat/sdk 0.2.9 (asteroid driver, REST api)', () => {
  let env: HttpEnv;
  let aliceId: string;
  let asteroid: Asteroid | null;

  before(() => sdk.driver.useLog(quiet));

  beforeEach(async () => {
    env = await startHttpServer();
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
    asteroid = null;
  });

  afterEach(async () => {
    if (sdk.api.currentLogin !== null) await sdk.api.logout();
    if (asteroid) {
      // asteroid reconnects forever after a close; the test is over, so it must not.
      asteroid.ddp._autoreconnect = false;
      asteroid.ddp._socket.close();
    }
    await env.stop();
  });

  const connect = async (): Promise<Asteroid> => {
    asteroid = await sdk.driver.connect({ host: env.base.replace(/^http:\/\//, ''), useSsl: false, timeout: 5_000 });
    return asteroid;
  };

  it('its driver connects: the meteor.loginServiceConfiguration subscription it makes is ready, not a 404', async () => {
    const connected = await connect();
    const subscription = Object.values(connected.subscriptions).find((s) => s._name === 'meteor.loginServiceConfiguration');
    expect(subscription, 'asteroid subscribes on connect').to.not.equal(undefined);
    expect(await subscription!.ready).to.be.a('string');
  });

  it('its driver logs in with a plain password and calls methods; a guarded one answers the retry with a code', async () => {
    await connect();
    expect(await sdk.driver.login({ username: 'alice', password: PASSWORD })).to.equal(aliceId);
    expect(await sdk.driver.asyncCall('whoami', [])).to.equal(aliceId);
    const refused = await sdk.driver.asyncCall('rooms.delete', ['r1']).then(() => null, (err: unknown) => err);
    expect(refused).to.deep.include({ error: 'totp-required', reason: 'TOTP Required' });
    const deleted = await sdk.driver.asyncCall('rooms.delete', ['r1', { twoFactorCode: passwordCode(), twoFactorMethod: 'password' }]);
    expect(deleted).to.deep.equal({ deleted: 'r1', params: 1 });
    await sdk.driver.logout();
  });

  it('its REST api logs in with {username, password}, reads me, and logs out with GET', async () => {
    sdk.api.url = `${env.base}/api/v1/`;
    const result = await sdk.api.login({ username: 'alice', password: PASSWORD });
    expect(result.status).to.equal('success');
    expect(result.data).to.include({ userId: aliceId });
    expect(result.data.me.username).to.equal('alice');
    const token = result.data.authToken;
    expect(await sdk.api.get('me', null, true)).to.include({ _id: aliceId, username: 'alice', success: true });
    await sdk.api.logout();
    expect(sdk.api.currentLogin).to.equal(null);
    const after = await fetch(`${env.base}/api/v1/me`, { headers: { 'x-user-id': aliceId, 'x-auth-token': token } });
    expect(after.status).to.equal(401);
  });
});
