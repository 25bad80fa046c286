/**
 * The threat model over HTTP: the same stolen tokens, sent as `X-User-Id`/`X-Auth-Token`, get
 * no further than over DDP — adding a factor, minting a token and changing the password ask
 * for the user's factor; a personal token's bypass does not stand in for it; and a revoked
 * token stops working on the next request.
 */
import { expect } from 'chai';
import { callMethod, callOk, createUser, enrollTotp, login, nextTotp, passwordCode, post, startHttpServer, type HttpEnv } from './support.js';

describe('HTTP API: a stolen token cannot take the account over', () => {
  let env: HttpEnv;
  afterEach(async () => {
    await env?.stop();
  });

  it('with a stolen session token: enabling TOTP or email codes asks for the password of a user without a factor', async () => {
    env = await startHttpServer();
    await createUser(env, 'nina', { email: 'nina@example.com' });
    const stolen = await login(env, 'nina');
    for (const method of ['2fa:enable', '2fa:enableEmail']) {
      const reply = await callMethod(env, stolen, method, []);
      expect(reply.status, method).to.equal(400);
      expect(reply.json).to.deep.include({ success: false, errorType: 'totp-required' });
      expect(reply.json.details).to.deep.include({ method: 'password', availableMethods: [] });
      const guessed = await callMethod(env, stolen, method, [], { 'x-2fa-code': 'ab'.repeat(32), 'x-2fa-method': 'password' });
      expect(guessed.json.errorType, method).to.equal('totp-invalid');
    }
    // The owner, who knows the password, can.
    expect(await callOk(env, stolen, '2fa:enableEmail', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' })).to.equal(true);
  });

  it('with a bypass token: minting tokens, adding a factor and changing the password ask for the code', async () => {
    env = await startHttpServer();
    const userId = await createUser(env, 'tom', { email: 'tom@example.com' });
    const session = await login(env, 'tom');
    const secret = await enrollTotp(env, session);
    const pat = (await callOk(env, session, 'personalAccessTokens:generateToken', [{ tokenName: 'ci', bypassTwoFactor: true }], { 'x-2fa-code': nextTotp(env, secret), 'x-2fa-method': 'totp' })) as string;
    const bypass = { userId, authToken: pat };
    for (const [method, params] of [
      ['personalAccessTokens:generateToken', [{ tokenName: 'mine', bypassTwoFactor: true }]],
      ['2fa:enableEmail', []],
      ['changePassword', [{ digest: 'a'.repeat(64), algorithm: 'sha-256' }, 'a brand new password']],
    ] as const) {
      const reply = await callMethod(env, bypass, method, [...params]);
      expect(reply.json?.errorType, method).to.equal('totp-required');
    }
    const { store } = await env.server.services.get();
    expect((await store.personalTokens.list(userId)).map((t) => t.name)).to.deep.equal(['ci']);
    // Removing the token over DDP or HTTP ends it at once, here too.
    expect(await callOk(env, session, 'personalAccessTokens:removeToken', [{ tokenName: 'ci' }], { 'x-2fa-code': nextTotp(env, secret), 'x-2fa-method': 'totp' })).to.equal(true);
    expect((await callMethod(env, bypass, 'personalAccessTokens:list', [])).status).to.equal(401);
    const me = await post(env, '/api/v1/method.call/personalAccessTokens:list', { message: '{}' }, { 'x-user-id': userId, 'x-auth-token': pat });
    expect(me.status).to.equal(401);
  });
});
