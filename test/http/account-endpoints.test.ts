/**
 * What a Rocket.Chat client touches around a login, over real HTTP, in Rocket.Chat's shapes:
 * Meteor's own login bodies on `/api/v1/login` (through the same `login` method as DDP), `me`,
 * `GET /api/v1/me`, `/api/v1/logout` and `/api/v1/users.2fa.*`.
 */
import { expect } from 'chai';
import { ClientPool } from '../helpers/ddp.js';
import { hashToken } from '../../server/accounts/tokens.js';
import {
  authHeaders, callOk, createUser, emailedCode, enrollTotp, backupCodes, get, login, nextTotp, passwordCode, post, startHttpServer,
  PASSWORD, START, type Credentials, type HttpEnv,
} from './support.js';

const DIGEST = { digest: passwordCode(), algorithm: 'sha-256' };
const LOGGED_OUT = { status: 'success', data: { message: "You've been logged out!" }, success: true };
const NOT_LOGGED_IN = { success: false, status: 'error', message: 'You must be logged in to do this.' };

describe('HTTP API: Rocket.Chat account endpoints', () => {
  let env: HttpEnv;
  let aliceId: string;
  const pool = new ClientPool();

  beforeEach(async () => {
    env = await startHttpServer();
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
  });

  afterEach(async () => {
    await pool.closeAll();
    await env.stop();
  });

  /** Alice's document as `me`, for a state of her factors. */
  const aliceMe = (factors: { totp?: boolean; email?: boolean } = {}): Record<string, unknown> => ({
    _id: aliceId,
    username: 'alice',
    emails: [{ address: 'alice@example.com', verified: true }],
    email: 'alice@example.com',
    createdAt: new Date(START).toISOString(),
    services: {
      password: { exists: true },
      ...(factors.totp ? { totp: { enabled: true } } : {}),
      ...(factors.email ? { email2fa: { enabled: true } } : {}),
    },
    twoFactor: { totp: factors.totp ?? false, email: factors.email ?? false },
  });

  describe('POST /api/v1/login with Meteor\'s login bodies', () => {
    it('takes {user: {username} | {email}, password: {digest, algorithm}} as Meteor\'s login does', async () => {
      for (const user of [{ username: 'alice' }, { email: 'alice@example.com' }]) {
        const reply = await post(env, '/api/v1/login', { user, password: DIGEST });
        expect(reply.status, JSON.stringify(user)).to.equal(200);
        expect(reply.json.status).to.equal('success');
        expect(reply.json.data.userId).to.equal(aliceId);
        expect(reply.json.data.me).to.deep.equal(aliceMe());
      }
    });

    it('takes {resume: token} with a session token or a personal access token, and answers the same token', async () => {
      const session = await login(env, 'alice');
      const resumed = await post(env, '/api/v1/login', { resume: session.authToken });
      expect(resumed.status).to.equal(200);
      expect(resumed.json).to.deep.equal({ status: 'success', data: { userId: aliceId, authToken: session.authToken, me: aliceMe() }, success: true });
      const personal = (await callOk(env, session, 'personalAccessTokens:generateToken', [{ tokenName: 'ci' }], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' })) as string;
      const viaPersonal = await post(env, '/api/v1/login', { resume: personal });
      expect(viaPersonal.status).to.equal(200);
      expect(viaPersonal.json.data).to.include({ userId: aliceId, authToken: personal });
    });

    it('answers a stale resume token 401 with Meteor\'s 403 inside, and a malformed Meteor body 400 from login\'s own check', async () => {
      const stale = await post(env, '/api/v1/login', { resume: 'no-such-token' });
      expect(stale.status).to.equal(401);
      expect(stale.json).to.deep.equal({ success: false, status: 'error', error: 403, message: "You've been logged out by the server. Please log in again." });
      const extraKey = await post(env, '/api/v1/login', { user: { username: 'alice' }, password: DIGEST, ldap: true });
      expect(extraKey.status).to.equal(400);
      expect(extraKey.json).to.deep.equal({ success: false, status: 'error', error: 400, message: 'Match failed' });
      const badDigest = await post(env, '/api/v1/login', { user: { username: 'alice' }, password: { digest: 'abc', algorithm: 'sha-256' } });
      expect(badDigest.status).to.equal(400);
      expect(badDigest.json.message).to.equal('Match failed');
    });

    it('a TOTP user: the totp wrapper, or a Meteor body with x-2fa-code; without a code the same 401 as the plain shape', async () => {
      const secret = await enrollTotp(env, await login(env, 'alice'));
      const without = await post(env, '/api/v1/login', { user: { username: 'alice' }, password: DIGEST });
      expect(without.status).to.equal(401);
      expect(without.json).to.deep.equal({
        success: false,
        status: 'error',
        error: 'totp-required',
        message: 'TOTP Required',
        details: { method: 'totp', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['totp'] },
      });
      const wrapped = await post(env, '/api/v1/login', { totp: { login: { user: { username: 'alice' }, password: DIGEST }, code: nextTotp(env, secret) } });
      expect(wrapped.status).to.equal(200);
      expect(wrapped.json.data.me).to.deep.equal(aliceMe({ totp: true }));
      const header = await post(env, '/api/v1/login', { user: { email: 'alice@example.com' }, password: DIGEST }, { 'x-2fa-code': nextTotp(env, secret) });
      expect(header.status).to.equal(200);
      expect(header.json.data.userId).to.equal(aliceId);
      // A backup code through the wrapper, once.
      const backup = backupCodes.get(secret)![0]!;
      const first = await post(env, '/api/v1/login', { totp: { login: { user: { username: 'alice' }, password: DIGEST }, code: backup } });
      const again = await post(env, '/api/v1/login', { totp: { login: { user: { username: 'alice' }, password: DIGEST }, code: backup } });
      expect([first.status, again.status]).to.deep.equal([200, 401]);
      expect(again.json.error).to.equal('totp-invalid');
    });

    it('counts against the same accounts rate limit as DDP logins', async () => {
      const limited = await startHttpServer({ accountsRateLimitCount: 2 });
      try {
        await createUser(limited, 'carol');
        const replies = [];
        for (let i = 0; i < 3; i++) replies.push(await post(limited, '/api/v1/login', { user: { username: 'carol' }, password: DIGEST }));
        expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 429]);
        expect(replies[2]!.json).to.include({ success: false, status: 'error', error: 'too-many-requests' });
      } finally {
        await limited.stop();
      }
    });
  });

  describe('me', () => {
    it('never carries a secret: no password hash, token or its hash, TOTP secret, backup code', async () => {
      const creds = await login(env, 'alice');
      const secret = await enrollTotp(env, creds);
      const reply = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD, code: nextTotp(env, secret) });
      expect(reply.json.data.me).to.deep.equal(aliceMe({ totp: true }));
      const { store } = await env.server.services.get();
      const stored = (await store.users.findById(aliceId))!;
      const state = await store.twoFactor.get(aliceId);
      const text = JSON.stringify(reply.json.data.me);
      for (const secretText of [stored.passwordHash!, passwordCode(), PASSWORD, reply.json.data.authToken as string, hashToken(reply.json.data.authToken as string),
        creds.authToken, secret, state.totpSecret!, ...backupCodes.get(secret)!]) {
        expect(text).not.to.include(secretText);
      }
    });
  });

  describe('GET /api/v1/me', () => {
    it('answers the user\'s own document with success:true, the same as login\'s me', async () => {
      const reply = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD });
      const creds = reply.json.data as Credentials;
      const me = await get(env, '/api/v1/me', authHeaders(creds));
      expect(me.status).to.equal(200);
      expect(me.json).to.deep.equal({ ...aliceMe(), success: true });
      expect(me.json).to.deep.equal({ ...reply.json.data.me, success: true });
    });

    it('is the document the DDP users publication sends, with its _id', async () => {
      const creds = await login(env, 'alice');
      const client = await pool.connect(env.server.url);
      await client.call('login', { resume: creds.authToken });
      await client.waitFor((m) => m.msg === 'added' && m.collection === 'users');
      const published = client.docs('users').get(aliceId)!;
      const me = await get(env, '/api/v1/me', authHeaders(creds));
      const { _id, success, ...rest } = me.json as Record<string, unknown>;
      expect([_id, success]).to.deep.equal([aliceId, true]);
      expect(rest).to.deep.equal(JSON.parse(JSON.stringify(published)));
      expect(published.createdAt).to.be.instanceOf(Date);
    });

    it('works with a personal access token; follows the factors the user turns on', async () => {
      const creds = await login(env, 'alice');
      const personal = (await callOk(env, creds, 'personalAccessTokens:generateToken', [{ tokenName: 'ci' }], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' })) as string;
      await callOk(env, creds, '2fa:enableEmail', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password', 'user-agent': 'another/1' });
      const me = await get(env, '/api/v1/me', authHeaders({ userId: aliceId, authToken: personal }));
      expect(me.status).to.equal(200);
      expect(me.json).to.deep.equal({ ...aliceMe({ email: true }), success: true });
    });

    it('answers 401 without credentials, with a bad token, and with another user\'s id; 405 to POST', async () => {
      const creds = await login(env, 'alice');
      const bobId = await createUser(env, 'bob');
      const cases: Record<string, string>[] = [{}, { 'x-user-id': aliceId }, { 'x-user-id': aliceId, 'x-auth-token': 'nope' }, { 'x-user-id': bobId, 'x-auth-token': creds.authToken }];
      for (const headers of cases) {
        const reply = await get(env, '/api/v1/me', headers);
        expect(reply.status, JSON.stringify(headers)).to.equal(401);
        expect(reply.json).to.deep.equal(NOT_LOGGED_IN);
      }
      expect((await post(env, '/api/v1/me', {}, authHeaders(creds))).status).to.equal(405);
    });
  });

  describe('/api/v1/logout', () => {
    for (const method of ['POST', 'GET'] as const) {
      it(`${method}: answers Rocket.Chat's logged-out body, and the token is refused afterwards`, async () => {
        const creds = await login(env, 'alice');
        const out = method === 'POST' ? await post(env, '/api/v1/logout', {}, authHeaders(creds)) : await get(env, '/api/v1/logout', authHeaders(creds));
        expect(out.status).to.equal(200);
        expect(out.json).to.deep.equal(LOGGED_OUT);
        const after = await get(env, '/api/v1/me', authHeaders(creds));
        expect(after.status).to.equal(401);
        const { store } = await env.server.services.get();
        expect(await store.loginTokens.find(hashToken(creds.authToken))).to.equal(null);
      });
    }

    it('answers 401 without valid credentials, and leaves other sessions alone', async () => {
      const one = await login(env, 'alice');
      const two = await login(env, 'alice');
      expect((await post(env, '/api/v1/logout', {})).json).to.deep.equal(NOT_LOGGED_IN);
      expect((await post(env, '/api/v1/logout', {}, authHeaders(one))).status).to.equal(200);
      expect((await get(env, '/api/v1/me', authHeaders(two))).status).to.equal(200);
    });
  });

  describe('/api/v1/users.2fa.*', () => {
    it('enableEmail asks for the password first (no factor yet), then answers {success:true}; other sessions stay (a known difference)', async () => {
      const creds = await login(env, 'alice');
      const other = await login(env, 'alice');
      const first = await post(env, '/api/v1/users.2fa.enableEmail', {}, authHeaders(creds));
      expect(first.status).to.equal(400);
      expect(first.json).to.deep.equal({
        success: false,
        error: 'TOTP Required [totp-required]',
        errorType: 'totp-required',
        details: { method: 'password', codeGenerated: false, availableMethods: [] },
      });
      const enabled = await post(env, '/api/v1/users.2fa.enableEmail', {}, { ...authHeaders(creds), 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      expect(enabled.status).to.equal(200);
      expect(enabled.json).to.deep.equal({ success: true });
      expect((await get(env, '/api/v1/me', authHeaders(creds))).json.services).to.deep.equal({ password: { exists: true }, email2fa: { enabled: true } });
      // Rocket.Chat logs the user's other sessions out here; ddp-guard's 2fa:enableEmail does not.
      expect((await get(env, '/api/v1/me', authHeaders(other))).status).to.equal(200);
    });

    it('enableEmail without a verified address: Rocket.Chat\'s failure with the method\'s error', async () => {
      await createUser(env, 'dave', { email: 'dave@example.com', verified: false });
      const creds = await login(env, 'dave');
      const reply = await post(env, '/api/v1/users.2fa.enableEmail', {}, { ...authHeaders(creds), 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      expect(reply.status).to.equal(400);
      expect(reply.json).to.deep.equal({ success: false, error: 'Verify an email address first [email-not-verified]', errorType: 'email-not-verified' });
    });

    it('disableEmail always asks; the details name the account (emailOrUsername) for a resend; the emailed code disables', async () => {
      const creds = await login(env, 'alice');
      await post(env, '/api/v1/users.2fa.enableEmail', {}, { ...authHeaders(creds), 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      const asked = await post(env, '/api/v1/users.2fa.disableEmail', {}, authHeaders(creds));
      expect(asked.status).to.equal(400);
      expect(asked.json).to.include({ success: false, error: 'TOTP Required [totp-required]', errorType: 'totp-required' });
      expect(asked.json.details).to.include({ method: 'email', codeGenerated: true, emailOrUsername: 'alice' });
      const wrong = await post(env, '/api/v1/users.2fa.disableEmail', {}, { ...authHeaders(creds), 'x-2fa-code': '000000', 'x-2fa-method': 'email' });
      expect(wrong.json).to.include({ errorType: 'totp-invalid' });
      expect(wrong.json.details).to.include({ method: 'email', emailOrUsername: 'alice' });
      const code = await emailedCode(env, 'alice@example.com');
      const disabled = await post(env, '/api/v1/users.2fa.disableEmail', {}, { ...authHeaders(creds), 'x-2fa-code': code, 'x-2fa-method': 'email' });
      expect(disabled.status).to.equal(200);
      expect(disabled.json).to.deep.equal({ success: true });
      expect((await get(env, '/api/v1/me', authHeaders(creds))).json.twoFactor).to.deep.equal({ totp: false, email: false });
    });

    it('enableEmail and disableEmail answer 401 without valid credentials', async () => {
      for (const path of ['/api/v1/users.2fa.enableEmail', '/api/v1/users.2fa.disableEmail']) {
        const reply = await post(env, path, {}, { 'x-user-id': aliceId, 'x-auth-token': 'nope' });
        expect(reply.status, path).to.equal(401);
        expect(reply.json).to.deep.equal(NOT_LOGGED_IN);
      }
    });
  });

  it('GET /api/info is not served: ddp-guard has no Rocket.Chat version to report (a known difference)', async () => {
    expect((await get(env, '/api/info')).status).to.equal(404);
  });
});
