/**
 * One code per sign-in: a login that passed a second factor makes its new token trusted for
 * this client, under the rules of any trust mark (same fingerprint, that token only, for
 * `trustedClientMs`; `disableRememberMe` methods still ask). And a code refused because it
 * was already used says so, with the time until the app shows the next one.
 */
import { expect } from 'chai';
import { passwordLogin, startFixture, stopFixtures, STEP_MS, T0, totpAnswer, type Fixture } from './fixture.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { TestClient, type Msg } from './client.js';

async function enrolled(fx: Fixture, name: string): Promise<string> {
  await fx.user(name);
  const { client } = await fx.login(name);
  const { secret } = await fx.enrolTotp(client);
  client.close();
  return secret;
}

function httpBase(fx: Fixture): string {
  return fx.url.replace(/^ws/, 'http').replace(/\/websocket$/, '');
}

describe('2FA: one code per sign-in', () => {
  afterEach(stopFixtures);

  it('after a DDP login with a TOTP code, guarded calls on that session pass without asking again', async () => {
    const fx = await startFixture();
    const secret = await enrolled(fx, 'alice');
    const client = await TestClient.connect(fx.url);
    const code = fx.nextTotp(secret);
    await client.ok('login', { totp: { login: passwordLogin('alice'), code } });
    expect(await client.ok('app.echo', 'a')).to.deep.equal({ count: 1, args: ['a'] });
    expect(await client.ok('app.nested')).to.deep.include({ args: ['inner'] });
    // disableRememberMe and requireSecondFactor methods still ask, every time.
    expect((await client.fails('app.always')).error).to.equal('totp-required');
    expect((await client.fails('app.strict')).error).to.equal('totp-required');
    // The code still showing was spent on the login: the replay rule refuses it, and says so.
    const replay = await client.fails('app.always', totpAnswer(code));
    expect(replay.error).to.equal('totp-invalid');
    expect(replay.details).to.deep.include({ method: 'totp', reason: 'used', availableMethods: ['totp'] });
    // Login was at step T0/30 s + 1 (nextTotp moved the clock there): the next code shows at the step after.
    expect(replay.details.nextCodeIn).to.equal(T0 + 2 * STEP_MS - fx.clock.now());
  });

  it('the trust is bound to that token and that client: another login, user agent or an expired window asks again', async () => {
    const fx = await startFixture({ trustedClientMs: 60_000 });
    const secret = await enrolled(fx, 'bob');
    const first = await TestClient.connect(fx.url);
    const result = (await first.ok('login', { totp: { login: passwordLogin('bob'), code: fx.nextTotp(secret) } })) as Msg;
    await first.ok('app.echo');

    // The same token from another user agent: asked.
    const elsewhere = await TestClient.connect(fx.url, { userAgent: 'another-browser/1.0' });
    await elsewhere.ok('login', { resume: result.token });
    expect((await elsewhere.fails('app.echo')).error).to.equal('totp-required');

    // A password login without a code (a user with TOTP cannot) and a login on another token: asked.
    const second = await TestClient.connect(fx.url);
    await second.ok('login', { totp: { login: passwordLogin('bob'), code: fx.nextTotp(secret) } });
    await second.ok('app.echo');
    const third = await TestClient.connect(fx.url);
    await third.ok('login', { resume: result.token });
    await third.ok('app.echo'); // the first token's mark, same client: trusted

    // Past trustedClientMs, the login's mark has run out.
    fx.clock.advance(61_000);
    expect((await first.fails('app.echo')).error).to.equal('totp-required');
  });

  it('with trustedClientMs 0, a login with a code trusts nothing', async () => {
    const fx = await startFixture({ trustedClientMs: 0 });
    const secret = await enrolled(fx, 'carol');
    const client = await TestClient.connect(fx.url);
    await client.ok('login', { totp: { login: passwordLogin('carol'), code: fx.nextTotp(secret) } });
    expect((await client.fails('app.echo')).error).to.equal('totp-required');
  });

  it('a password login of a user without a factor trusts nothing: the password fallback is still asked', async () => {
    const fx = await startFixture();
    await fx.user('dave');
    const { client } = await fx.login('dave');
    const error = await client.fails('app.echo');
    expect(error.error).to.equal('totp-required');
    expect(error.details.method).to.equal('password');
  });

  it('over HTTP: /api/v1/login with a code, then a guarded method.call passes without asking', async () => {
    const fx = await startFixture();
    const secret = await enrolled(fx, 'erin');
    const base = httpBase(fx);
    const login = await fetch(`${base}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'curl/8' },
      body: JSON.stringify({ user: 'erin', password: 'pw-erin', code: fx.nextTotp(secret) }),
    });
    expect(login.status).to.equal(200);
    const { data } = (await login.json()) as { data: { userId: string; authToken: string } };
    const call = (userAgent: string): Promise<Response> => fetch(`${base}/api/v1/method.call/app.echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': data.userId, 'x-auth-token': data.authToken, 'user-agent': userAgent },
      body: JSON.stringify({ message: JSON.stringify({ msg: 'method', id: '1', method: 'app.echo', params: ['hi'] }) }),
    });
    const ok = await call('curl/8');
    expect(ok.status, await ok.clone().text()).to.equal(200);
    expect(JSON.parse(((await ok.json()) as { message: string }).message)).to.deep.include({ result: { count: 1, args: ['hi'] } });
    // Another client with the same token is asked.
    expect((await call('another/1')).status).to.equal(400);
  });

  it('a replayed code on a guarded call (trust off) is totp-invalid with reason "used" and the wait in ms', async () => {
    const fx = await startFixture({ trustedClientMs: 0 });
    const secret = await enrolled(fx, 'frank');
    const { client } = await fx.login('frank').catch(() => ({ client: null }));
    expect(client, 'a TOTP user cannot log in without a code').to.equal(null);
    const session = await fx.loginWithTotp('frank', secret);
    fx.clock.advance(10_000); // 10 s into the step of the login's code
    const code = generateTotpCode(secret, fx.clock.now());
    const replay = await session.client.fails('app.echo', totpAnswer(code));
    expect(replay.details).to.deep.include({ reason: 'used', nextCodeIn: 20_000 });
    // A wrong code is not "used".
    const wrong = await session.client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    expect(wrong.details).to.not.have.any.keys('reason', 'nextCodeIn');
    // The next step's code passes.
    fx.clock.advance(20_000);
    await session.client.ok('app.echo', totpAnswer(generateTotpCode(secret, fx.clock.now())));
  });
});
