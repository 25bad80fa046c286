/**
 * Interoperability with `@rocket.chat/api-client`, the REST client of Rocket.Chat's web app:
 * login, `/v1/me`, and a guarded `method.call` answered by its own 2FA handler (which retries
 * with `x-2fa-code` / `x-2fa-method` after a 400 `totp-required` or `totp-invalid`), against a
 * real ddp-guard server.
 */
import { expect } from 'chai';
import { RestClient } from '@rocket.chat/api-client';
import { decode, encode } from '../../protocol/ejson.js';
import { callOk, createUser, emailedCode, enrollTotp, login, nextTotp, passwordCode, startHttpServer, wrongTotp, PASSWORD, type HttpEnv } from '../http/support.js';

/** What the client's 2FA handler is given. */
type Challenge = { method: 'totp' | 'email' | 'password'; emailOrUsername?: string; invalidAttempt?: boolean };

/** The body of `method.call` for `method(...params)`. */
const methodMessage = (method: string, params: unknown[]): { message: string } => ({ message: encode({ msg: 'method', id: '1', method, params }) });

describe('server: interoperability with @rocket.chat/api-client (Rocket.Chat\'s REST client)', () => {
  let env: HttpEnv;
  let aliceId: string;
  let client: RestClient;

  beforeEach(async () => {
    env = await startHttpServer();
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
    client = new RestClient({ baseUrl: env.base });
  });

  afterEach(async () => {
    await env.stop();
  });

  /** Log in through the client and keep its credentials, as Rocket.Chat's apps do. */
  const clientLogin = async (code?: string): Promise<{ userId: string; authToken: string; me: { _id: string; username: string } }> => {
    const answer = (await client.post('/v1/login', { user: 'alice', password: PASSWORD, ...(code === undefined ? {} : { code }) })) as unknown as { status: string; data: { userId: string; authToken: string; me: { _id: string; username: string } } };
    expect(answer.status).to.equal('success');
    client.setCredentials({ 'X-User-Id': answer.data.userId, 'X-Auth-Token': answer.data.authToken });
    return answer.data;
  };

  /** `method.call` through the client; the decoded DDP result. */
  const methodCall = async (method: string, params: unknown[]): Promise<Record<string, unknown>> => {
    const reply = (await client.post(`/v1/method.call/${method}`, methodMessage(method, params))) as unknown as { message: string; success: boolean };
    expect(reply.success).to.equal(true);
    return decode(reply.message) as Record<string, unknown>;
  };

  it('logs in, and /v1/me answers the same document as the login\'s me', async () => {
    const data = await clientLogin();
    expect(data.me).to.include({ _id: aliceId, username: 'alice' });
    const me = (await client.get('/v1/me')) as unknown as Record<string, unknown>;
    expect(me).to.deep.equal({ ...data.me, success: true });
  });

  it('without credentials /v1/me is rejected with the 401 response', async () => {
    const rejected = await client.get('/v1/me').then(() => null, (err: unknown) => err);
    expect(rejected).to.be.instanceOf(Response);
    expect((rejected as Response).status).to.equal(401);
  });

  it('a guarded method.call: the 2FA handler is asked, a wrong TOTP code is retried, the right one passes', async () => {
    // Enrolling ends the user's other sessions, so the client logs in after it, with a code.
    const secret = await enrollTotp(env, await login(env, 'alice'));
    await clientLogin(nextTotp(env, secret));
    const challenges: Challenge[] = [];
    const codes = [wrongTotp(env, secret), nextTotp(env, secret)];
    client.handleTwoFactorChallenge(async (challenge) => {
      challenges.push(challenge);
      return codes.shift()!;
    });
    // A method that always asks: the login's code made this token trusted (one code per sign-in).
    const result = await methodCall('vault.open', []);
    expect(result).to.deep.equal({ msg: 'result', id: '1', result: 'opened' });
    expect(challenges).to.deep.equal([
      { method: 'totp', emailOrUsername: undefined, invalidAttempt: false },
      { method: 'totp', emailOrUsername: undefined, invalidAttempt: true },
    ]);
  });

  it('the email factor: the handler gets emailOrUsername and resends a code with it through users.2fa.sendEmailCode', async () => {
    const creds = await clientLogin();
    await callOk(env, { userId: creds.userId, authToken: creds.authToken }, '2fa:enableEmail', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password', 'user-agent': 'setup/1' });
    const challenges: Challenge[] = [];
    client.handleTwoFactorChallenge(async (challenge) => {
      challenges.push(challenge);
      // The user asks for another mail (after the one-a-minute cooldown), as Rocket.Chat's code modal lets them.
      env.clock.advance(61_000);
      const sent = env.sink.messages.length;
      const resent = (await client.post('/v1/users.2fa.sendEmailCode', { emailOrUsername: challenge.emailOrUsername! })) as unknown as { success: boolean };
      expect(resent.success).to.equal(true);
      return emailedCode(env, 'alice@example.com', sent);
    });
    const result = await methodCall('rooms.delete', ['r2']);
    expect(result.result).to.deep.equal({ deleted: 'r2', params: 1 });
    expect(challenges).to.deep.equal([{ method: 'email', emailOrUsername: 'alice', invalidAttempt: false }]);
    expect(env.sink.messages).to.have.length(2);
  });

  it('logout through the client ends the token', async () => {
    const creds = await clientLogin();
    const out = await client.send('/v1/logout', 'POST');
    expect(await out.json()).to.deep.equal({ status: 'success', data: { message: "You've been logged out!" }, success: true });
    const after = await fetch(`${env.base}/api/v1/me`, { headers: { 'x-user-id': creds.userId, 'x-auth-token': creds.authToken } });
    expect(after.status).to.equal(401);
  });
});
