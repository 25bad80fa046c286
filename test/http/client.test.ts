/**
 * `DdpHttpClient` against the real server over HTTP: login with a digest, EJSON calls, errors
 * rebuilt as `DdpError`, and the two-factor retry through `onTwoFactorRequired`.
 */
import { expect } from 'chai';
import { DdpHttpClient, DdpHttpError, type FetchFunction, type TwoFactorAnswer, type TwoFactorChallenge } from '../../client/http.js';
import { DdpError } from '../../protocol/errors.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { createUser, emailedCode, nextTotp, passwordCode, startHttpServer, wrongTotp, PASSWORD, type HttpEnv } from './support.js';

interface Sent {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** `fetch` that records each request. */
function recordingFetch(log: Sent[]): FetchFunction {
  return (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    log.push({ url: input, headers, body: String(init.body) });
    return fetch(input, init);
  };
}

async function rejection(promise: Promise<unknown>): Promise<DdpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DdpError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('DdpHttpClient', () => {
  let env: HttpEnv;
  let aliceId: string;
  let sent: Sent[];
  let challenges: TwoFactorChallenge[];
  let answers: ((c: TwoFactorChallenge) => TwoFactorAnswer | null | Promise<TwoFactorAnswer | null>)[];

  /** A client that records its requests and answers challenges from `answers`, in order. */
  function client(extra: { maxTwoFactorAttempts?: number; headers?: Record<string, string>; noHandler?: boolean } = {}): DdpHttpClient {
    return new DdpHttpClient(env.base, {
      fetch: recordingFetch(sent),
      ...(extra.noHandler ? {} : {
        onTwoFactorRequired: (c: TwoFactorChallenge) => {
          challenges.push(c);
          const next = answers.shift();
          return next ? next(c) : null;
        },
      }),
      ...(extra.maxTwoFactorAttempts === undefined ? {} : { maxTwoFactorAttempts: extra.maxTwoFactorAttempts }),
      ...(extra.headers ? { headers: extra.headers } : {}),
    });
  }

  /** Log in as alice and enrol TOTP through the client; returns the secret. */
  async function aliceWithTotp(api: DdpHttpClient): Promise<string> {
    await api.login('alice', PASSWORD);
    const { secret } = (await api.call('2fa:enable', { twoFactorCode: passwordCode(), twoFactorMethod: 'password' })) as { secret: string };
    const { codes } = (await api.call('2fa:validateTempToken', generateTotpCode(secret, env.clock.now()))) as { codes: string[] };
    expect(codes).to.have.length(12);
    return secret;
  }

  beforeEach(async () => {
    env = await startHttpServer();
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
    sent = [];
    challenges = [];
    answers = [];
  });

  afterEach(async () => {
    await env.stop();
  });

  it('logs in with the sha-256 digest of the password, never the password itself', async () => {
    const api = client();
    const creds = await api.login('alice', PASSWORD);
    expect(creds.userId).to.equal(aliceId);
    expect(creds.authToken).to.be.a('string');
    expect(api.userId).to.equal(aliceId);
    expect(api.credentials).to.deep.equal(creds);
    expect(sent).to.have.length(1);
    expect(sent[0]!.url).to.equal(`${env.base}/api/v1/login`);
    expect(JSON.parse(sent[0]!.body)).to.deep.equal({ user: 'alice', password: { digest: passwordCode(), algorithm: 'sha-256' } });
    expect(sent[0]!.body).to.not.include(PASSWORD);
    // {username} and {email} selectors.
    expect((await client().login({ username: 'alice' }, PASSWORD)).userId).to.equal(aliceId);
    expect((await client().login({ email: 'alice@example.com' }, PASSWORD)).userId).to.equal(aliceId);
  });

  it('calls with EJSON both ways: a Date parameter and a Date result keep their type', async () => {
    const api = client();
    await api.login('alice', PASSWORD);
    const when = new Date(Date.UTC(2025, 11, 31, 23, 59, 59, 999));
    const result = (await api.call('echo', when, 'x')) as { params: unknown[]; firstIsDate: boolean; at: Date };
    expect(result.firstIsDate).to.equal(true);
    expect(result.params[0]).to.be.instanceOf(Date);
    expect((result.params[0] as Date).getTime()).to.equal(when.getTime());
    expect(result.params[1]).to.equal('x');
    expect(result.at).to.be.instanceOf(Date);
    expect(result.at.toISOString()).to.equal('2020-02-29T12:00:00.000Z');
    expect(await api.call('whoami')).to.equal(aliceId);
    const request = sent.find((s) => s.url.endsWith('/api/v1/method.call/echo'))!;
    expect(request.headers['x-user-id']).to.equal(aliceId);
    expect(JSON.parse(JSON.parse(request.body).message)).to.deep.include({ msg: 'method', method: 'echo', params: [{ $date: when.getTime() }, 'x'] });
  });

  it('rebuilds method errors as DdpError: an unknown method (404), callAnon of a method that needs a user (401)', async () => {
    const api = client();
    await api.login('alice', PASSWORD);
    const missing = await rejection(api.call('no.such'));
    expect(missing).to.not.be.instanceOf(DdpHttpError);
    expect(missing.error).to.equal(404);
    expect(missing.reason).to.equal("Method 'no.such' not found");
    expect(missing.message).to.equal("Method 'no.such' not found [404]");
    const anon = await rejection(api.callAnon('whoami'));
    expect(anon.error).to.equal(401);
    expect(anon.reason).to.equal('You must be logged in');
    expect(sent.at(-1)!.url).to.match(/\/api\/v1\/method\.callAnon\/whoami$/);
    expect(sent.at(-1)!.headers).to.not.have.property('x-auth-token');
    expect((await api.callAnon('echo', 1)) as { params: unknown[] }).to.have.deep.property('params', [1]);
  });

  it('fails with DdpHttpError 401 for a wrong password, and for a call without or with stale credentials', async () => {
    const api = client();
    const wrong = await rejection(api.login('alice', 'wrong password'));
    expect(wrong).to.be.instanceOf(DdpHttpError);
    expect((wrong as DdpHttpError).status).to.equal(401);
    expect(wrong.error).to.equal('Unauthorized');
    expect(api.credentials).to.equal(null);

    const anonymous = await rejection(api.call('whoami'));
    expect((anonymous as DdpHttpError).status).to.equal(401);
    expect(anonymous.reason).to.equal('You must be logged in to do this.');

    await api.login('alice', PASSWORD);
    const token = api.credentials!;
    await api.logout();
    expect(api.credentials).to.equal(null);
    api.useToken(token.userId, token.authToken);
    const stale = await rejection(api.call('whoami'));
    expect((stale as DdpHttpError).status).to.equal(401);
  });

  it('answers malformed-request errors with their HTTP status', async () => {
    const small = await startHttpServer({ maxBodyBytes: 200 });
    try {
      const api = new DdpHttpClient(small.base);
      const big = await rejection(api.callAnon('echo', 'z'.repeat(500)));
      expect(big).to.be.instanceOf(DdpHttpError);
      expect((big as DdpHttpError).status).to.equal(413);
      expect(big.reason).to.equal('Request body too large: at most 200 bytes');
    } finally {
      await small.stop();
    }
    expect(() => new DdpHttpClient('ws://localhost:1')).to.throw(TypeError, /http: or https:/);
    expect(() => new DdpHttpClient(env.base, { maxTwoFactorAttempts: -1 })).to.throw(TypeError);
  });

  it('login of a TOTP user: asks the callback and retries with `code` in the body; or takes the code as an argument', async () => {
    const secret = await aliceWithTotp(client());
    answers.push(() => ({ code: nextTotp(env, secret) }));
    const api = client();
    const creds = await api.login('alice', PASSWORD);
    expect(creds.userId).to.equal(aliceId);
    expect(challenges).to.have.length(1);
    const c = challenges[0]!;
    expect(c.method).to.equal('login');
    expect(c.attempt).to.equal(1);
    expect(c.isRetryAfterInvalid).to.equal(false);
    expect(c.emailCodeSent).to.equal(false);
    expect(c.details).to.deep.equal({ method: 'totp', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['totp'] });
    const logins = sent.filter((s) => s.url.endsWith('/api/v1/login'));
    expect(JSON.parse(logins.at(-1)!.body)).to.have.property('code').that.matches(/^\d{6}$/);

    const direct = client({ noHandler: true });
    expect((await direct.login('alice', PASSWORD, nextTotp(env, secret))).userId).to.equal(aliceId);
    const refused = await rejection(client({ noHandler: true }).login('alice', PASSWORD));
    expect(refused).to.be.instanceOf(DdpHttpError);
    expect((refused as DdpHttpError).status).to.equal(401);
    expect(refused.error).to.equal('totp-required');
  });

  it('a guarded call: a wrong code, then the right one, sent in x-2fa-code / x-2fa-method', async () => {
    const api = client();
    const secret = await aliceWithTotp(api);
    answers.push(() => ({ code: wrongTotp(env, secret) }), () => ({ code: nextTotp(env, secret) }));
    const result = await api.call('rooms.delete', 'general');
    expect(result).to.deep.equal({ deleted: 'general', params: 1 });
    expect(challenges.map((c) => [c.method, c.attempt, c.isRetryAfterInvalid, c.error.error])).to.deep.equal([
      ['rooms.delete', 1, false, 'totp-required'],
      ['rooms.delete', 2, true, 'totp-invalid'],
    ]);
    const calls = sent.filter((s) => s.url.endsWith('/method.call/rooms.delete'));
    expect(calls).to.have.length(3);
    expect(calls[0]!.headers).to.not.have.property('x-2fa-code');
    expect(calls[1]!.headers['x-2fa-method']).to.equal('totp');
    expect(calls[2]!.headers['x-2fa-code']).to.match(/^\d{6}$/);
    // The retry changes headers only: the message's params are the caller's.
    expect(JSON.parse(JSON.parse(calls[2]!.body).message).params).to.deep.equal(['general']);
    // Trusted now (same token and client): no challenge.
    expect(await api.call('rooms.delete', 'random')).to.deep.equal({ deleted: 'random', params: 1 });
    expect(challenges).to.have.length(2);
  });

  it('null from the callback cancels with two-factor-cancelled', async () => {
    const api = client();
    await aliceWithTotp(api);
    answers.push(() => null);
    const err = await rejection(api.call('rooms.delete', 'x'));
    expect(err.error).to.equal('two-factor-cancelled');
    expect(err.details).to.have.property('method', 'rooms.delete');
    expect(challenges).to.have.length(1);
  });

  it('gives up with the last totp-invalid after maxTwoFactorAttempts codes', async () => {
    const api = client({ maxTwoFactorAttempts: 2 });
    const secret = await aliceWithTotp(api);
    answers.push(() => ({ code: wrongTotp(env, secret) }), () => ({ code: wrongTotp(env, secret) }), () => ({ code: nextTotp(env, secret) }));
    const err = await rejection(api.call('rooms.delete', 'x'));
    expect(err).to.be.instanceOf(DdpHttpError);
    expect((err as DdpHttpError).status).to.equal(400);
    expect(err.error).to.equal('totp-invalid');
    expect(err.reason).to.equal('TOTP Invalid');
    expect(challenges).to.have.length(2);
  });

  it('stops at totp-max-attempts without asking again', async () => {
    await env.stop();
    env = await startHttpServer({ maxFailedAttempts: 2 });
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
    const api = client({ maxTwoFactorAttempts: 10 });
    const secret = await aliceWithTotp(api);
    for (let i = 0; i < 10; i++) answers.push(() => ({ code: wrongTotp(env, secret) }));
    const err = await rejection(api.call('rooms.delete', 'x'));
    expect(err.error).to.equal('totp-max-attempts');
    expect(err.reason).to.equal('TOTP Maximun Failed Attempts Reached');
    expect(err.details).to.have.property('lockedFor', 60_000);
    expect(challenges).to.have.length(2);
  });

  it('without a callback, totp-required reaches the caller with its details', async () => {
    const api = client({ noHandler: true });
    await aliceWithTotp(api);
    const err = await rejection(api.call('rooms.delete', 'x'));
    expect(err).to.be.instanceOf(DdpHttpError);
    expect((err as DdpHttpError).status).to.equal(400);
    expect(err.message).to.equal('TOTP Required [totp-required]');
    expect(err.details).to.deep.equal({ method: 'totp', codeGenerated: false, availableMethods: ['totp'] });
  });

  it('useToken with a personal access token: bypass skips the guard, except requireSecondFactor', async () => {
    const owner = client();
    const secret = await aliceWithTotp(owner);
    answers.push(() => ({ code: nextTotp(env, secret) }));
    const token = (await owner.call('personalAccessTokens:generateToken', { tokenName: 'bot', bypassTwoFactor: true })) as string;
    expect(challenges).to.have.length(1);

    const bot = client();
    bot.useToken(aliceId, token);
    expect(await bot.call('rooms.delete', 'r1')).to.deep.equal({ deleted: 'r1', params: 1 });
    expect(challenges).to.have.length(1);
    answers.push(() => ({ code: nextTotp(env, secret) }));
    expect(await bot.call('vault.open')).to.equal('opened');
    expect(challenges).to.have.length(2);
    expect(challenges[1]!.method).to.equal('vault.open');
  });

  it('email codes: emailCodeSent and a Date codeExpires in the challenge; sendEmailCode; picking a factor by name', async () => {
    const setup = client();
    await setup.login('alice', PASSWORD);
    answers.push(() => ({ code: passwordCode(), method: 'password' }));
    expect(await setup.call('2fa:enableEmail')).to.equal(true);
    expect(challenges[0]!.details).to.deep.equal({ method: 'password', codeGenerated: false, availableMethods: [] });

    answers.push(async () => ({ code: await emailedCode(env, 'alice@example.com') }));
    const api = client();
    await api.login('alice', PASSWORD);
    const c = challenges[1]!;
    expect(c.emailCodeSent).to.equal(true);
    expect(c.details.method).to.equal('email');
    expect(c.details.codeExpires).to.be.instanceOf(Date);
    expect(c.details.codeExpires!.getTime()).to.equal(env.clock.now() + 600_000);

    // With TOTP as well, the callback may answer with the email factor: sent as x-2fa-method.
    // Adding TOTP proves the factor the user has: a fresh email code.
    const mailsBefore = env.sink.messages.length;
    answers.push(async () => ({ code: await emailedCode(env, 'alice@example.com', mailsBefore) }));
    const { secret } = (await api.call('2fa:enable')) as { secret: string };
    await api.call('2fa:validateTempToken', generateTotpCode(secret, env.clock.now()));
    const before = env.sink.messages.length;
    await client().sendEmailCode('nobody-here');
    await api.sendEmailCode('alice');
    answers.push(async (ch) => {
      expect(ch.details.availableMethods).to.deep.equal(['totp', 'email']);
      return { code: await emailedCode(env, 'alice@example.com', before), method: 'email' };
    });
    expect((await client().login('alice', PASSWORD)).userId).to.equal(aliceId);
    const last = sent.filter((s) => s.url.endsWith('/api/v1/login')).at(-1)!;
    expect(last.headers['x-2fa-method']).to.equal('email');
    expect(env.sink.messages.length).to.equal(before + 1);
  });

  it('the rate limit surfaces as DdpHttpError 429 too-many-requests', async () => {
    await env.stop();
    env = await startHttpServer({ accountsRateLimitCount: 5 });
    await createUser(env, 'alice');
    const api = client();
    for (let i = 0; i < 5; i++) await rejection(api.login('alice', 'wrong'));
    const err = await rejection(api.login('alice', PASSWORD));
    expect((err as DdpHttpError).status).to.equal(429);
    expect(err.error).to.equal('too-many-requests');
    expect(err.details).to.have.property('timeToReset').that.is.a('number');
  });
});
