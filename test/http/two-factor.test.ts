/**
 * The 2FA guard over HTTP: Rocket.Chat's REST shapes of a refusal, the `x-2fa-code` /
 * `x-2fa-method` retry, login with a code, lock-out, the trusted window, personal access
 * tokens, email codes, the accounts rate limit, and the audit trail of calls made over HTTP.
 */
import { expect } from 'chai';
import {
  backupCodes, callMethod, callOk, createUser, emailedCode, enrollTotp, login, nextTotp, passwordCode, post,
  startHttpServer, wrongTotp, PASSWORD, UA, type Credentials, type HttpEnv,
} from './support.js';

const REQUIRED = 'TOTP Required [totp-required]';

describe('HTTP API: two-factor', () => {
  let env: HttpEnv;

  afterEach(async () => {
    await env?.stop();
  });

  describe('a user with TOTP', () => {
    let aliceId: string;
    let creds: Credentials;
    let secret: string;

    beforeEach(async () => {
      env = await startHttpServer();
      aliceId = await createUser(env, 'alice', { email: 'alice@example.com' });
      creds = await login(env, 'alice');
      secret = await enrollTotp(env, creds);
    });

    it('login without a code: 401 totp-required; with `code` in the body: success; with x-2fa-code: success', async () => {
      const without = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD });
      expect(without.status).to.equal(401);
      expect(without.json).to.deep.equal({
        success: false,
        status: 'error',
        error: 'totp-required',
        message: 'TOTP Required',
        details: { method: 'totp', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['totp'] },
      });

      const withBody = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD, code: nextTotp(env, secret) });
      expect(withBody.status).to.equal(200);
      expect(withBody.json.status).to.equal('success');
      expect(withBody.json.data.userId).to.equal(aliceId);

      const withHeader = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD }, { 'x-2fa-code': nextTotp(env, secret) });
      expect(withHeader.status).to.equal(200);
      expect(withHeader.json.data.userId).to.equal(aliceId);
      expect(withHeader.json.data.authToken).to.not.equal(withBody.json.data.authToken);
    });

    it('login with a wrong or replayed code: 401 totp-invalid', async () => {
      const wrong = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD, code: wrongTotp(env, secret) });
      expect(wrong.status).to.equal(401);
      expect(wrong.json).to.include({ status: 'error', error: 'totp-invalid', message: 'TOTP Invalid' });
      const code = nextTotp(env, secret);
      expect((await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD, code })).status).to.equal(200);
      const replay = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD, code });
      expect(replay.status).to.equal(401);
      expect(replay.json.error).to.equal('totp-invalid');
    });

    it('a guarded call without a code: 400 {success:false, error, errorType, details}; the retry with headers succeeds', async () => {
      const without = await callMethod(env, creds, 'rooms.delete', ['general']);
      expect(without.status).to.equal(400);
      expect(without.json).to.deep.equal({
        success: false,
        error: REQUIRED,
        errorType: 'totp-required',
        details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'] },
      });

      const retry = await callMethod(env, creds, 'rooms.delete', ['general'], { 'x-2fa-code': nextTotp(env, secret), 'x-2fa-method': 'totp' });
      expect(retry.status).to.equal(200);
      expect(retry.json.success).to.equal(true);
      // The handler saw its one parameter: nothing 2FA-related reaches it.
      expect(retry.result).to.deep.equal({ msg: 'result', id: '1', result: { deleted: 'general', params: 1 } });
    });

    it('a wrong code: 400 totp-invalid; a backup code works once', async () => {
      const wrong = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': wrongTotp(env, secret), 'x-2fa-method': 'totp' });
      expect(wrong.status).to.equal(400);
      expect(wrong.json).to.deep.equal({
        success: false,
        error: 'TOTP Invalid [totp-invalid]',
        errorType: 'totp-invalid',
        details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'] },
      });
      // A factor the user does not have is refused before anything is checked.
      const otherFactor = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': '123456', 'x-2fa-method': 'email' });
      expect(otherFactor.status).to.equal(400);
      expect(otherFactor.json.errorType).to.equal('totp-invalid');

      const backup = backupCodes.get(secret)![0]!;
      const first = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': backup, 'user-agent': 'backup-1' });
      expect(first.status, first.text).to.equal(200);
      const reused = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': backup, 'user-agent': 'backup-2' });
      expect(reused.status).to.equal(400);
      expect(reused.json.errorType).to.equal('totp-invalid');
    });

    it('too many wrong codes: 400 totp-max-attempts, and then even the right code is refused', async () => {
      const errors: string[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': wrongTotp(env, secret) });
        expect(reply.status).to.equal(400);
        errors.push(reply.json.errorType);
      }
      expect(errors).to.deep.equal(['totp-invalid', 'totp-invalid', 'totp-invalid', 'totp-invalid', 'totp-max-attempts']);
      const locked = await callMethod(env, creds, 'rooms.delete', ['r1'], { 'x-2fa-code': nextTotp(env, secret) });
      expect(locked.status).to.equal(400);
      expect(locked.json.success).to.equal(false);
      expect(locked.json.error).to.equal('TOTP Maximun Failed Attempts Reached [totp-max-attempts]');
      expect(locked.json.errorType).to.equal('totp-max-attempts');
      expect(locked.json.details).to.include({ method: 'totp', codeGenerated: false });
      expect(locked.json.details.lockedFor).to.be.a('number').within(1, 60_000);
    });

    it('personal access tokens: created over HTTP with a code; with bypassTwoFactor the guard is skipped except for requireSecondFactor', async () => {
      const noCode = await callMethod(env, creds, 'personalAccessTokens:generateToken', [{ tokenName: 'ci', bypassTwoFactor: true }]);
      expect(noCode.status).to.equal(400);
      expect(noCode.json.errorType).to.equal('totp-required');
      const bypassToken = (await callOk(env, creds, 'personalAccessTokens:generateToken', [{ tokenName: 'ci', bypassTwoFactor: true }], { 'x-2fa-code': nextTotp(env, secret) })) as string;
      // A fresh user-agent so the session's trust does not carry over.
      const plainToken = (await callOk(env, creds, 'personalAccessTokens:generateToken', [{ tokenName: 'script' }], { 'x-2fa-code': nextTotp(env, secret), 'user-agent': 'other/1' })) as string;
      expect(bypassToken).to.be.a('string');
      expect(plainToken).to.be.a('string');

      const bypass = { userId: aliceId, authToken: bypassToken };
      const skipped = await callMethod(env, bypass, 'rooms.delete', ['r1']);
      expect(skipped.status).to.equal(200);
      expect(skipped.result.result).to.deep.equal({ deleted: 'r1', params: 1 });
      const always = await callMethod(env, bypass, 'vault.open');
      expect(always.status).to.equal(400);
      expect(always.json.errorType).to.equal('totp-required');
      const opened = await callMethod(env, bypass, 'vault.open', [], { 'x-2fa-code': nextTotp(env, secret) });
      expect(opened.result.result).to.equal('opened');

      const plain = { userId: aliceId, authToken: plainToken };
      const asked = await callMethod(env, plain, 'rooms.delete', ['r2']);
      expect(asked.status).to.equal(400);
      expect(asked.json.errorType).to.equal('totp-required');
      expect((await callMethod(env, plain, 'rooms.delete', ['r2'], { 'x-2fa-code': nextTotp(env, secret) })).status).to.equal(200);
      // Trust is for session tokens only: a personal token without bypass is asked every time.
      expect((await callMethod(env, plain, 'rooms.delete', ['r3'])).status).to.equal(400);
      // A personal token is refused with another user's id.
      const bobId = await createUser(env, 'bob');
      const mismatch = await callMethod(env, { userId: bobId, authToken: bypassToken }, 'whoami');
      expect(mismatch.status).to.equal(401);
    });

    it('the audit trail records a token created over HTTP, with the client address and user-agent', async () => {
      await callOk(env, creds, 'personalAccessTokens:generateToken', [{ tokenName: 'audited', bypassTwoFactor: false }], { 'x-2fa-code': nextTotp(env, secret), 'user-agent': 'audit-agent/2.0' });
      const { store } = await env.server.services.get();
      const entries = await store.audit.list({ userId: aliceId });
      const created = entries.filter((e) => e.action === 'token.created');
      expect(created).to.have.length(1);
      expect(created[0]!.userAgent).to.equal('audit-agent/2.0');
      expect(created[0]!.clientAddress).to.match(/^(::ffff:)?127\.0\.0\.1$/);
      expect(created[0]!.details).to.deep.equal({ name: 'audited', bypassTwoFactor: false });
      expect(created[0]!.at.getTime()).to.equal(env.clock.now());
      // The enrolment over HTTP was audited with the test user-agent.
      const enabled = entries.find((e) => e.action === 'totp.enabled');
      expect(enabled?.userAgent).to.equal(UA);
    });
  });

  describe('the trusted window over HTTP', () => {
    let secret: string;
    let creds: Credentials;
    const from = (address: string, ua: string): Record<string, string> => ({ 'x-forwarded-for': address, 'user-agent': ua });

    beforeEach(async () => {
      env = await startHttpServer({ httpForwardedCount: 1 });
      await createUser(env, 'alice');
      creds = await login(env, 'alice', PASSWORD, {}, from('10.0.0.1', 'agent-A'));
      secret = await enrollTotp(env, creds);
    });

    it('after a check, the same token + user-agent + address is not asked again for 5 minutes; any other is', async () => {
      const first = await callMethod(env, creds, 'rooms.delete', ['r1'], { ...from('10.0.0.1', 'agent-A'), 'x-2fa-code': nextTotp(env, secret) });
      expect(first.status).to.equal(200);

      const again = await callMethod(env, creds, 'rooms.delete', ['r2'], from('10.0.0.1', 'agent-A'));
      expect(again.status).to.equal(200);
      expect(again.result.result).to.deep.equal({ deleted: 'r2', params: 1 });

      const otherAgent = await callMethod(env, creds, 'rooms.delete', ['r3'], from('10.0.0.1', 'agent-B'));
      expect(otherAgent.status).to.equal(400);
      expect(otherAgent.json.errorType).to.equal('totp-required');

      const otherAddress = await callMethod(env, creds, 'rooms.delete', ['r3'], from('10.0.0.2', 'agent-A'));
      expect(otherAddress.status).to.equal(400);

      // A second login that passed a code trusts its own token for this client (one code per
      // sign-in), and only from this client.
      const second = await login(env, 'alice', PASSWORD, { code: nextTotp(env, secret) }, from('10.0.0.1', 'agent-A'));
      expect((await callMethod(env, second, 'rooms.delete', ['r3'], from('10.0.0.1', 'agent-A'))).status).to.equal(200);
      expect((await callMethod(env, second, 'rooms.delete', ['r3'], from('10.0.0.1', 'agent-B'))).status).to.equal(400);

      // A method with requireSecondFactor ignores the trust.
      expect((await callMethod(env, creds, 'vault.open', [], from('10.0.0.1', 'agent-A'))).status).to.equal(400);

      env.clock.advance(300_001);
      const expired = await callMethod(env, creds, 'rooms.delete', ['r4'], from('10.0.0.1', 'agent-A'));
      expect(expired.status).to.equal(400);
      expect(expired.json.errorType).to.equal('totp-required');
    });
  });

  describe('users without TOTP', () => {
    beforeEach(async () => {
      env = await startHttpServer();
    });

    it('the password fallback: a guarded call asks for method "password", and sha256(password) in x-2fa-code passes', async () => {
      await createUser(env, 'carol');
      const creds = await login(env, 'carol');
      const asked = await callMethod(env, creds, 'vault.open');
      expect(asked.status).to.equal(400);
      expect(asked.json).to.deep.equal({ success: false, error: REQUIRED, errorType: 'totp-required', details: { method: 'password', codeGenerated: false, availableMethods: [] } });
      const wrong = await callMethod(env, creds, 'vault.open', [], { 'x-2fa-code': passwordCode('not the password'), 'x-2fa-method': 'password' });
      expect(wrong.json.errorType).to.equal('totp-invalid');
      const ok = await callMethod(env, creds, 'vault.open', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      expect(ok.status).to.equal(200);
      expect(ok.result.result).to.equal('opened');
    });

    it('email codes: enabled with the password fallback; login then needs the emailed code', async () => {
      const daveId = await createUser(env, 'dave', { email: 'dave@example.com' });
      const creds = await login(env, 'dave');
      const enabled = await callMethod(env, creds, '2fa:enableEmail', [], { 'x-2fa-code': passwordCode(), 'x-2fa-method': 'password' });
      expect(enabled.result.result).to.equal(true);

      const without = await post(env, '/api/v1/login', { user: 'dave', password: PASSWORD });
      expect(without.status).to.equal(401);
      expect(without.json.error).to.equal('totp-required');
      expect(without.json.details).to.include({ method: 'email', codeGenerated: true, emailOrUsername: 'dave' });
      expect(without.json.details.availableMethods).to.deep.equal(['email']);
      expect(new Date(without.json.details.codeExpires).getTime()).to.equal(env.clock.now() + 600_000);
      const code = await emailedCode(env, 'dave@example.com');

      const ok = await post(env, '/api/v1/login', { user: 'dave', password: PASSWORD, code });
      expect(ok.status).to.equal(200);
      expect(ok.json.data.userId).to.equal(daveId);
      // Single use.
      const again = await post(env, '/api/v1/login', { user: 'dave', password: PASSWORD, code });
      expect(again.status).to.equal(401);
      expect(again.json.error).to.equal('totp-invalid');
    });

    it('login with a code from the body and x-2fa-method picks that factor (email, for a user who also has TOTP)', async () => {
      await createUser(env, 'erin', { email: 'erin@example.com' });
      const creds = await login(env, 'erin');
      const secret = await enrollTotp(env, creds);
      const enabled = await callMethod(env, creds, '2fa:enableEmail', [], { 'x-2fa-code': nextTotp(env, secret) });
      expect(enabled.result.result).to.equal(true);

      const asked = await post(env, '/api/v1/login', { user: 'erin', password: PASSWORD });
      expect(asked.json.details).to.include({ method: 'totp' });
      expect(asked.json.details.availableMethods).to.deep.equal(['totp', 'email']);

      const sent = await post(env, '/api/v1/users.2fa.sendEmailCode', { emailOrUsername: 'erin@example.com' });
      expect(sent.status).to.equal(200);
      const code = await emailedCode(env, 'erin@example.com');
      const ok = await post(env, '/api/v1/login', { user: 'erin', password: PASSWORD, code }, { 'x-2fa-method': 'email' });
      expect(ok.status, ok.text).to.equal(200);
    });
  });

  describe('the accounts rate limit over HTTP', () => {
    beforeEach(async () => {
      // The default rule (5 per 10 s per client), and a trusted proxy so a test can vary the address.
      env = await startHttpServer({ accountsRateLimitCount: 5, httpForwardedCount: 1 });
      await createUser(env, 'alice');
    });

    it('the 6th login within 10 s from one address is 429 with details.timeToReset; another address is not limited', async () => {
      const here = { 'x-forwarded-for': '192.0.2.7' };
      for (let i = 0; i < 5; i++) {
        env.clock.advance(1000);
        const reply = await post(env, '/api/v1/login', { user: 'alice', password: 'wrong password' }, here);
        expect(reply.status).to.equal(401);
      }
      const limited = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD }, here);
      expect(limited.status).to.equal(429);
      expect(limited.json.status).to.equal('error');
      expect(limited.json.error).to.equal('too-many-requests');
      expect(limited.json.message).to.match(/^Error, too many requests\. Please slow down\. You must wait \d+ seconds before trying again\.$/);
      expect(limited.json.details.timeToReset).to.be.a('number').within(1, 10_000);

      // method.callAnon counts against the same rule and answers in the method-call shape.
      const viaMethod = await post(env, '/api/v1/method.callAnon/login', { message: JSON.stringify({ msg: 'method', id: '1', method: 'login', params: [{ user: 'alice', password: PASSWORD }] }) }, here);
      expect(viaMethod.status).to.equal(429);
      expect(viaMethod.json.success).to.equal(false);
      expect(viaMethod.json.errorType).to.equal('too-many-requests');
      expect(viaMethod.json.details.timeToReset).to.be.a('number');

      const elsewhere = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD }, { 'x-forwarded-for': '192.0.2.8' });
      expect(elsewhere.status).to.equal(200);

      env.clock.advance(limited.json.details.timeToReset + 1);
      const later = await post(env, '/api/v1/login', { user: 'alice', password: PASSWORD }, here);
      expect(later.status).to.equal(200);
    });

    it('sendEmailCode is limited by the same rule', async () => {
      const here = { 'x-forwarded-for': '192.0.2.9' };
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await post(env, '/api/v1/users.2fa.sendEmailCode', { emailOrUsername: 'alice' }, here)).status);
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
    });
  });
});
