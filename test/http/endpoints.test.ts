/**
 * The HTTP API's shapes over real HTTP: each endpoint's success answer exactly, and each error
 * (credentials, malformed bodies, size limit, unknown users).
 */
import { expect } from 'chai';
import { decode, encode } from '../../protocol/ejson.js';
import { createHash } from 'node:crypto';
import { authHeaders, callMethod, createUser, login, methodBody, passwordCode, post, startHttpServer, PASSWORD, START, type HttpEnv } from './support.js';

describe('HTTP API: endpoints and shapes', () => {
  let env: HttpEnv;
  let aliceId: string;

  beforeEach(async () => {
    env = await startHttpServer();
    aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
  });

  afterEach(async () => {
    await env.stop();
  });

  describe('POST /api/v1/login', () => {
    it('answers {status:"success", data:{userId, authToken, me}, success:true} and the token works', async () => {
      const reply = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD });
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.match(/^application\/json/);
      expect(Object.keys(reply.json)).to.deep.equal(['status', 'data', 'success']);
      expect(reply.json.status).to.equal('success');
      expect(reply.json.success).to.equal(true);
      expect(Object.keys(reply.json.data)).to.deep.equal(['userId', 'authToken', 'me']);
      expect(reply.json.data.userId).to.equal(aliceId);
      expect(reply.json.data.authToken).to.be.a('string').with.length.above(20);
      expect(reply.json.data.me).to.deep.equal({
        _id: aliceId,
        username: 'alice',
        emails: [{ address: 'alice@example.com', verified: true }],
        email: 'alice@example.com',
        createdAt: new Date(START).toISOString(),
        services: { password: { exists: true } },
        twoFactor: { totp: false, email: false },
      });
      const who = await callMethod(env, reply.json.data, 'whoami');
      expect(who.result).to.deep.equal({ msg: 'result', id: '1', result: aliceId });
    });

    it('accepts username, email, and a {digest, algorithm} password', async () => {
      const digest = createHash('sha256').update(PASSWORD).digest('hex');
      for (const body of [
        { username: 'alice', password: PASSWORD },
        { email: 'alice@example.com', password: PASSWORD },
        { user: 'alice', password: { digest, algorithm: 'sha-256' } },
      ]) {
        const reply = await post(env, '/api/v1/login', body);
        expect(reply.status, JSON.stringify(body)).to.equal(200);
        expect(reply.json.data.userId).to.equal(aliceId);
      }
    });

    it('answers a wrong password and an unknown user with the same 401', async () => {
      const wrong = await post(env, '/api/v1/login', { user: 'alice', password: 'wrong password' });
      const unknown = await post(env, '/api/v1/login', { user: 'nobody', password: PASSWORD });
      expect(wrong.status).to.equal(401);
      expect(wrong.json).to.deep.equal({ success: false, status: 'error', error: 'Unauthorized', message: 'Unauthorized' });
      expect(unknown.status).to.equal(401);
      expect(unknown.text).to.equal(wrong.text);
    });

    it('answers 400 without a user or a password', async () => {
      for (const body of [{ password: PASSWORD }, { user: 'alice' }, { user: 'alice', password: 42 }]) {
        const reply = await post(env, '/api/v1/login', body);
        expect(reply.status, JSON.stringify(body)).to.equal(400);
        expect(reply.json).to.deep.equal({ success: false, error: 'Give user (or username or email) and password' });
      }
    });
  });

  describe('POST /api/v1/method.call/:method', () => {
    it('answers {message: <EJSON result>, success:true}, with Dates round-tripped both ways', async () => {
      const creds = await login(env, 'alice');
      const sent = new Date(Date.UTC(2024, 6, 1, 8, 30, 15, 250));
      const reply = await post(env, '/api/v1/method.call/echo', { message: encode({ msg: 'method', id: 'abc', method: 'echo', params: [sent, { n: 1 }] }) }, authHeaders(creds));
      expect(reply.status).to.equal(200);
      expect(Object.keys(reply.json)).to.deep.equal(['message', 'success']);
      expect(reply.json.success).to.equal(true);
      expect(reply.json.message).to.be.a('string');
      // The text itself is EJSON: Dates as {$date}.
      expect(JSON.parse(reply.json.message).result.at).to.deep.equal({ $date: Date.UTC(2020, 1, 29, 12, 0, 0) });
      const message = decode(reply.json.message) as { msg: string; id: string; result: { params: unknown[]; firstIsDate: boolean; at: Date } };
      expect(Object.keys(message)).to.deep.equal(['msg', 'id', 'result']);
      expect(message.msg).to.equal('result');
      expect(message.id).to.equal('abc');
      expect(message.result.firstIsDate).to.equal(true);
      expect(message.result.params[0]).to.be.instanceOf(Date);
      expect((message.result.params[0] as Date).getTime()).to.equal(sent.getTime());
      expect(message.result.params[1]).to.deep.equal({ n: 1 });
      expect(message.result.at).to.be.instanceOf(Date);
      expect(message.result.at.toISOString()).to.equal('2020-02-29T12:00:00.000Z');
    });

    it('answers an unknown method with 200 and the 404 error inside the message', async () => {
      const creds = await login(env, 'alice');
      const reply = await callMethod(env, creds, 'no.such.method');
      expect(reply.status).to.equal(200);
      expect(reply.json.success).to.equal(true);
      expect(reply.result).to.deep.equal({
        msg: 'result',
        id: '1',
        error: { isClientSafe: true, error: 404, reason: "Method 'no.such.method' not found", message: "Method 'no.such.method' not found [404]", errorType: 'Meteor.Error' },
      });
    });

    it('answers 401 without X-User-Id / X-Auth-Token, with a bad token, and with a token of another user', async () => {
      const creds = await login(env, 'alice');
      const bobId = await createUser(env, 'bob');
      const cases: Record<string, string>[] = [
        {},
        { 'x-auth-token': creds.authToken },
        { 'x-user-id': creds.userId },
        { 'x-user-id': creds.userId, 'x-auth-token': 'not-a-token' },
        { 'x-user-id': bobId, 'x-auth-token': creds.authToken },
      ];
      for (const headers of cases) {
        const reply = await post(env, '/api/v1/method.call/whoami', methodBody('whoami'), headers);
        expect(reply.status, JSON.stringify(headers)).to.equal(401);
        expect(reply.json).to.deep.equal({ success: false, status: 'error', message: 'You must be logged in to do this.' });
      }
      // The same token with its own user id is accepted: the refusals above were about the headers.
      const ok = await callMethod(env, creds, 'whoami');
      expect(ok.result.result).to.equal(aliceId);
    });

    it('refuses a session token after logout', async () => {
      const creds = await login(env, 'alice');
      const out = await callMethod(env, creds, 'logout');
      expect(out.status).to.equal(200);
      const after = await post(env, '/api/v1/method.call/whoami', methodBody('whoami'), authHeaders(creds));
      expect(after.status).to.equal(401);
    });
  });

  describe('POST /api/v1/method.callAnon/:method', () => {
    it('runs a method without credentials', async () => {
      const reply = await callMethod(env, null, 'echo', ['hi']);
      expect(reply.status).to.equal(200);
      expect(reply.result.result.params).to.deep.equal(['hi']);
    });

    it('answers a method that requires a user with the 401 error inside the message', async () => {
      const reply = await callMethod(env, null, 'whoami');
      expect(reply.status).to.equal(200);
      expect(reply.json.success).to.equal(true);
      expect(reply.result.error).to.deep.equal({ isClientSafe: true, error: 401, reason: 'You must be logged in', message: 'You must be logged in [401]', errorType: 'Meteor.Error' });
    });

    it('ignores credentials: the call runs without a user', async () => {
      const creds = await login(env, 'alice');
      const reply = await post(env, '/api/v1/method.callAnon/whoami', methodBody('whoami'), authHeaders(creds));
      expect(decode(reply.json.message)).to.have.nested.property('error.error', 401);
    });
  });

  describe('malformed requests', () => {
    const cases: { name: string; body: string; error: RegExp }[] = [
      { name: 'not JSON', body: '{"message": ', error: /^The request body is not valid JSON$/ },
      { name: 'a JSON array', body: '[1,2]', error: /^The request body must be a JSON object$/ },
      { name: 'a JSON string', body: '"hello"', error: /^The request body must be a JSON object$/ },
      { name: 'no message', body: '{}', error: /needs "message"/ },
      { name: 'message not a string', body: JSON.stringify({ message: { msg: 'method' } }), error: /needs "message"/ },
      { name: 'message not JSON', body: JSON.stringify({ message: 'nope{' }), error: /"message" is not valid EJSON/ },
      { name: 'message with a bad $date', body: JSON.stringify({ message: '{"msg":"method","id":"1","method":"echo","params":[{"$date":"soon"}]}' }), error: /"message" is not valid EJSON/ },
      { name: 'message with __proto__', body: JSON.stringify({ message: '{"msg":"method","id":"1","method":"echo","params":[{"__proto__":{"x":1}}]}' }), error: /"message" is not valid EJSON/ },
      { name: 'message not an object', body: JSON.stringify({ message: '42' }), error: /must be a DDP method message/ },
      { name: 'params not an array', body: JSON.stringify({ message: '{"msg":"method","id":"1","method":"echo","params":{}}' }), error: /must be a DDP method message/ },
      { name: 'another method than the URL', body: JSON.stringify(methodBody('whoami')), error: /^The message calls 'whoami' but the URL names 'echo'$/ },
    ];
    for (const c of cases) {
      it(`answers 400 with a clear error for ${c.name}`, async () => {
        for (const path of ['/api/v1/method.callAnon/echo', '/api/v1/method.call/echo']) {
          const creds = path.includes('Anon') ? null : await login(env, 'alice');
          const reply = await post(env, path, c.body, creds ? authHeaders(creds) : {});
          expect(reply.status, path).to.equal(400);
          expect(Object.keys(reply.json)).to.deep.equal(['success', 'error']);
          expect(reply.json.success).to.equal(false);
          expect(reply.json.error).to.match(c.error);
        }
      });
    }

    it('answers 400 for a login body that is not a JSON object', async () => {
      const reply = await post(env, '/api/v1/login', '["alice"]');
      expect(reply.status).to.equal(400);
      expect(reply.json).to.deep.equal({ success: false, error: 'The request body must be a JSON object' });
    });

    it('answers 405 to GET and 404 to an unknown path', async () => {
      const get = await fetch(`${env.base}/api/v1/login`);
      expect(get.status).to.equal(405);
      const missing = await post(env, '/api/v1/nothing.here', {});
      expect(missing.status).to.equal(404);
    });
  });

  describe('body size limit', () => {
    let small: HttpEnv;
    beforeEach(async () => {
      small = await startHttpServer({ maxBodyBytes: 512 });
    });
    afterEach(async () => {
      await small.stop();
    });

    it('answers 413 to a body over maxBodyBytes (declared length), and accepts one under it', async () => {
      const big = await post(small, '/api/v1/method.callAnon/echo', methodBody('echo', ['x'.repeat(2000)]));
      expect(big.status).to.equal(413);
      expect(big.json).to.deep.equal({ success: false, error: 'Request body too large: at most 512 bytes' });
      const login413 = await post(small, '/api/v1/login', { user: 'alice', password: 'p'.repeat(600) });
      expect(login413.status).to.equal(413);
      const fits = await post(small, '/api/v1/method.callAnon/echo', methodBody('echo', ['x'.repeat(300)]));
      expect(fits.status).to.equal(200);
    });

    it('answers 413 to a chunked body that grows over the limit', async () => {
      const chunk = new TextEncoder().encode(`{"message":"${'y'.repeat(200)}`);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 10) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${small.base}/api/v1/method.callAnon/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' });
      expect(res.headers.get('content-length')).to.not.equal(null);
      expect(res.status).to.equal(413);
      expect(await res.json()).to.deep.equal({ success: false, error: 'Request body too large: at most 512 bytes' });
    });
  });

  describe('POST /api/v1/users.2fa.sendEmailCode', () => {
    it('answers the same for an unknown user, a user without email codes, and one with them; only the last gets a mail', async () => {
      // Enable email codes for alice: 2fa:enableEmail asks for the password fallback.
      const creds = await login(env, 'alice');
      const enabled = await callMethod(env, creds, '2fa:enableEmail', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      expect(enabled.result).to.deep.equal({ msg: 'result', id: '1', result: true });
      await createUser(env, 'bob', { email: 'bob@example.com' });

      const unknown = await post(env, '/api/v1/users.2fa.sendEmailCode', { emailOrUsername: 'nobody@example.com' });
      const without = await post(env, '/api/v1/users.2fa.sendEmailCode', { emailOrUsername: 'bob' });
      const withCodes = await post(env, '/api/v1/users.2fa.sendEmailCode', { emailOrUsername: 'alice' });
      for (const reply of [unknown, without, withCodes]) {
        expect(reply.status).to.equal(200);
        expect(reply.text).to.equal('{"success":true}');
      }
      const mail = await env.sink.waitFor((m) => m.to.includes('alice@example.com'));
      expect(mail.subject).to.match(/^Your verification code: \d{6}$/);
      expect(env.sink.messages.filter((m) => m.to.includes('bob@example.com'))).to.have.length(0);
      expect(env.sink.messages).to.have.length(1);
    });

    it('answers 400 without emailOrUsername', async () => {
      const reply = await post(env, '/api/v1/users.2fa.sendEmailCode', { email: 'alice@example.com' });
      expect(reply.status).to.equal(400);
      expect(reply.json).to.deep.equal({ success: false, error: 'Give emailOrUsername' });
    });
  });
});
