/**
 * DDP and HTTP share one implementation of each thing both do: the token check, the `result`
 * message, the method-message validation, and the error→status mapping. Each is checked here
 * through its one function, and over real HTTP where the HTTP side used to differ.
 */
import { expect } from 'chai';
import { encode } from '../../protocol/ejson.js';
import { catalogueError, DdpError, type WireError } from '../../protocol/errors.js';
import { authenticateToken, hashToken } from '../../server/accounts/tokens.js';
import { failureStatus, type FailureRoute } from '../../server/http-api/replies.js';
import { errorResultFrame, quoteId, resultFrame } from '../../server/calls/result-frame.js';
import { authHeaders, createUser, get, login, post, startHttpServer, type HttpEnv } from './support.js';

const wire = (code: string | number, reason = 'r'): WireError => new DdpError(code, reason).toWire();

describe('one path for DDP and HTTP', () => {
  describe('the result frame', () => {
    const values: unknown[] = [undefined, 0, false, '', null, 'text', [1, { a: new Date(5) }], { $weird: 1 }, new Uint8Array([1, 2])];
    for (const value of values) {
      it(`is the EJSON of {msg:'result', id, result} for ${value === undefined ? 'undefined' : encode(value)}`, () => {
        const expected: Record<string, unknown> = { msg: 'result', id: 'a"b' };
        if (value !== undefined) expected.result = value;
        expect(resultFrame(quoteId('a"b'), value)).to.equal(encode(expected));
      });
    }

    it('carries an error in the same shape, and quotes ids with JSON escaping only when needed', () => {
      const error = catalogueError('methodNotFound', 'x').toWire();
      expect(errorResultFrame(quoteId('7'), error)).to.equal(encode({ msg: 'result', id: '7', error }));
      expect(quoteId('plain-id_1.2:3')).to.equal('"plain-id_1.2:3"');
      expect(quoteId('a\nb')).to.equal(JSON.stringify('a\nb'));
    });

    it('throws for a result EJSON cannot carry (the caller answers 500)', () => {
      expect(() => resultFrame('"1"', { n: 1n })).to.throw();
    });
  });

  describe('the error → HTTP status mapping', () => {
    const table: [FailureRoute, WireError, number][] = [
      ['method.call', wire('too-many-requests'), 429],
      ['method.call', wire('totp-required'), 400],
      ['method.call', wire('totp-max-attempts'), 400],
      ['method.call', wire(403), 200],
      ['method.call', wire(500), 200],
      ['login', wire('too-many-requests'), 429],
      ['login', wire('totp-invalid'), 401],
      ['login', wire('error-login-blocked-for-ip'), 401],
      ['login', wire(403), 401],
      ['login', wire(400), 400],
      ['login', wire(503), 503],
      ['account', wire('too-many-requests'), 429],
      ['account', wire('totp-required'), 400],
      ['account', wire(403), 400],
      ['account', wire(500), 500],
    ];
    for (const [route, error, status] of table) {
      it(`${route}: ${String(error.error)} → ${status}`, () => expect(failureStatus(error, route)).to.equal(status));
    }
  });

  describe('over real HTTP', () => {
    let env: HttpEnv;
    let aliceId: string;
    let bobId: string;

    beforeEach(async () => {
      env = await startHttpServer();
      aliceId = await createUser(env, 'alice');
      bobId = await createUser(env, 'bob');
    });
    afterEach(async () => {
      await env.stop();
    });

    it('validates the method message as a DDP frame: a non-string randomSeed is refused, a missing id answers "http"', async () => {
      const creds = await login(env, 'alice');
      const bad = await post(env, '/api/v1/method.call/whoami', { message: encode({ msg: 'method', id: '1', method: 'whoami', params: [], randomSeed: 5 }) }, authHeaders(creds));
      expect(bad.status).to.equal(400);
      expect(bad.json).to.deep.equal({ success: false, error: '"message" must be a DDP method message: {msg:"method", method, params, id}' });
      const noId = await post(env, '/api/v1/method.call/whoami', { message: encode({ msg: 'method', method: 'whoami' }) }, authHeaders(creds));
      expect(noId.status).to.equal(200);
      expect(noId.json.message).to.equal(resultFrame('"http"', aliceId));
    });

    it('checks X-Auth-Token as login({resume}) does: an expired session token is refused and removed', async () => {
      const creds = await login(env, 'alice');
      expect((await get(env, '/api/v1/me', authHeaders(creds))).status).to.equal(200);
      const services = await env.server.services.get();
      env.clock.advance(services.options.loginTokenLifetimeMs + 1);
      expect((await get(env, '/api/v1/me', authHeaders(creds))).status).to.equal(401);
      expect(await services.store.loginTokens.find(hashToken(creds.authToken))).to.equal(null);
    });

    it("refuses a token named for another user before touching it; a personal token's use is recorded", async () => {
      const services = await env.server.services.get();
      const token = 'a-personal-token-of-alice-0123456789';
      await services.store.personalTokens.insert({ hashedToken: hashToken(token), userId: aliceId, name: 'ci', bypassTwoFactor: false, createdAt: new Date(0), lastUsedAt: null });
      expect(await authenticateToken(services, token, bobId)).to.equal(null);
      expect((await services.store.personalTokens.find(hashToken(token)))!.lastUsedAt).to.equal(null);
      expect((await get(env, '/api/v1/me', { 'x-user-id': bobId, 'x-auth-token': token })).status).to.equal(401);
      const found = await authenticateToken(services, token, aliceId);
      expect(found).to.deep.equal({ login: { userId: aliceId, hashedToken: hashToken(token), kind: 'personal', bypassTwoFactor: false }, expiresAt: null });
      expect((await services.store.personalTokens.find(hashToken(token)))!.lastUsedAt).to.be.instanceOf(Date);
      expect(await authenticateToken(services, 'no-such-token')).to.equal(null);
    });
  });
});
