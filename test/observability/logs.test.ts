/**
 * Every log line of a full 2FA session, captured through a pino destination in memory at level
 * `debug`: none holds a secret the session used (password, its digest, TOTP secret, TOTP,
 * backup and email codes, login and personal tokens), and the method and connection lines carry
 * the documented fields.
 */
import { expect } from 'chai';
import { passwordAnswer, passwordLogin, passwordOf, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import { createPinoLogger, REDACTED_PATHS } from '../../server/runtime/logger.js';
import { sha256Hex } from '../../server/security/crypto.js';
import { hashToken } from '../../server/accounts/tokens.js';
import type { Msg } from '../two-factor/client.js';
import { httpBase, memoryDestination } from './support.js';

type Line = Record<string, unknown>;

/** Lines whose `event` is `kind`. */
function events(lines: Line[], kind: string): Line[] {
  return lines.filter((l) => l.event === kind);
}

/** Whether `secret` occurs in `text`; a numeric code must stand alone (not inside a longer number such as a pid). */
function contains(text: string, secret: string): boolean {
  if (!/^[0-9]+$/.test(secret)) return text.includes(secret);
  return new RegExp(`(^|[^0-9])${secret}([^0-9]|$)`).test(text);
}

describe('observability: logs', () => {
  afterEach(stopFixtures);

  it('a full 2FA session logs no secret, code, token or password, in any line at level debug', async () => {
    const out = memoryDestination();
    const fx: Fixture = await startFixture({ logger: createPinoLogger({ level: 'debug', destination: out }), trustedClientMs: 0 });
    const secrets: string[] = [];
    const keep = (...values: string[]): void => {
      for (const v of values) {
        expect(v, 'a secret to look for').to.be.a('string').with.length.greaterThan(5);
        secrets.push(v);
      }
    };
    const name = 'carol';
    const address = `${name}@example.com`;
    const userId = (await fx.user(name)).id;
    keep(passwordOf(name), sha256Hex(passwordOf(name)));

    // Password login, then TOTP enrolment.
    const first = await fx.login(name);
    keep(first.token, hashToken(first.token));
    const { client } = first;
    const enable = (await client.ok('2fa:enable', passwordAnswer(name))) as { secret: string; url: string };
    const confirm = fx.totpNow(enable.secret);
    const { codes } = (await client.ok('2fa:validateTempToken', confirm)) as { codes: string[] };
    keep(enable.secret, enable.url, encodeURIComponent(enable.secret), confirm, ...codes);

    // A challenge answered with a TOTP code, a wrong code, and a backup code.
    expect((await client.fails('app.echo', 'hello')).error).to.equal('totp-required');
    const code = fx.nextTotp(enable.secret);
    keep(code);
    await client.ok('app.echo', 'hello', totpAnswer(code));
    const wrong = fx.wrongTotp(enable.secret);
    keep(wrong);
    expect((await client.fails('app.echo', totpAnswer(wrong))).error).to.equal('totp-invalid');
    await client.ok('app.echo', totpAnswer(codes[0]!));
    const nestedCode = fx.nextTotp(enable.secret);
    keep(nestedCode);
    expect(await client.ok('app.nested', totpAnswer(nestedCode))).to.deep.equal({ count: 1, args: ['inner'] });
    expect((await client.fails('2fa:validateTempToken', 123456)).error).to.equal(400); // a debug line: parameters failed validation

    // Email codes: turned on (with a TOTP code), asked for, answered.
    const enableEmailCode = fx.nextTotp(enable.secret);
    keep(enableEmailCode);
    await client.ok('2fa:enableEmail', totpAnswer(enableEmailCode));
    expect((await client.fails('app.echo', { twoFactorCode: '', twoFactorMethod: 'email' })).details.method).to.equal('email');
    const emailCode = await fx.emailCode(address);
    keep(emailCode);
    await client.ok('app.echo', { twoFactorCode: emailCode, twoFactorMethod: 'email' });
    await client.ok('2fa:sendEmailCode', { emailOrUsername: address });

    // A personal access token.
    const tokenCode = fx.nextTotp(enable.secret);
    keep(tokenCode);
    const personal = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: true }, totpAnswer(tokenCode))) as string;
    keep(personal, hashToken(personal));

    // Logins: a wrong password, password + TOTP, resume; over HTTP with the code in a header, then a call with the tokens.
    const loginCode = fx.nextTotp(enable.secret);
    keep(loginCode);
    const second = await fx.connect();
    expect((await second.fails('login', { user: { username: name }, password: { digest: sha256Hex('not-it'), algorithm: 'sha-256' } })).error).to.equal(403);
    const again = (await second.ok('login', { totp: { login: passwordLogin(name), code: loginCode } })) as Msg;
    keep(again.token as string);
    const third = await fx.connect();
    expect(((await third.ok('login', { resume: again.token })) as Msg).id).to.equal(userId);
    const httpCode = fx.nextTotp(enable.secret);
    keep(httpCode);
    const base = httpBase(fx.url);
    const res = await fetch(`${base}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-2fa-code': httpCode, 'x-2fa-method': 'totp' },
      body: JSON.stringify({ username: name, password: passwordOf(name) }),
    });
    const body = (await res.json()) as { data: { authToken: string; userId: string } };
    expect(res.status).to.equal(200);
    keep(body.data.authToken);
    const call = await fetch(`${base}/api/v1/method.call/app.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': userId, 'x-auth-token': personal },
      body: JSON.stringify({ message: JSON.stringify({ msg: 'method', id: '1', method: 'app.open', params: [] }) }),
    });
    expect(call.status).to.equal(200);
    second.close();
    third.close();
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fx.server.close();

    const lines = out.lines.map((l) => JSON.parse(l) as Line);
    expect(lines.length, 'lines logged').to.be.greaterThan(20);
    if (process.env.SHOW_LOGS) console.log(out.lines.join(''));
    const leaks: string[] = [];
    for (const text of out.lines) {
      for (const secret of secrets) if (contains(text, secret)) leaks.push(`${secret} in ${text}`);
    }
    expect(leaks, 'secrets in log lines').to.deep.equal([]);
    // The search finds what is there.
    expect(contains(out.lines.join(''), userId)).to.equal(true);
    expect(contains('{"x":"123456"}', '123456') && !contains('{"pid":1234567}', '123456')).to.equal(true);
    expect(lines.filter((l) => l.level === 'debug').map((l) => l.msg)).to.include.members(['method app.echo (nested) ok', 'parameters failed validation']);

    // The documented fields.
    const methods = events(lines, 'method');
    for (const line of methods) {
      expect(line, JSON.stringify(line)).to.include.keys('level', 'time', 'msg', 'method', 'transport', 'durationMs', 'outcome', 'userId', 'connectionId', 'clientAddress');
      expect(line.durationMs).to.be.a('number').at.least(0);
      expect(line).to.not.have.any.keys('params', 'result', 'args');
    }
    const byMethod = (method: string, outcome: string): Line | undefined => methods.find((l) => l.method === method && l.outcome === outcome);
    expect(byMethod('login', 'ok')).to.deep.include({ level: 'debug', transport: 'ddp', userId, clientAddress: '127.0.0.1' });
    expect(byMethod('login', 'ok')!.connectionId).to.be.a('string').with.length.greaterThan(0);
    expect(byMethod('app.echo', 'totp-required')).to.deep.include({ level: 'debug', userId });
    expect(byMethod('app.echo', 'totp-invalid')).to.deep.include({ userId });
    expect(byMethod('app.echo', 'ok')).to.deep.include({ userId });
    expect(byMethod('login', '403')).to.deep.include({ userId: null });
    expect(methods.find((l) => l.method === 'login' && l.transport === 'http' && l.outcome === 'ok')).to.deep.include({ userId, connectionId: 'http:127.0.0.1' });
    expect(methods.find((l) => l.method === 'app.open' && l.transport === 'http')).to.deep.include({ outcome: 'ok', userId });
    const opened = events(lines, 'connection-open');
    const closed = events(lines, 'connection-close');
    expect(opened).to.have.length(3);
    expect(closed).to.have.length(3);
    for (const line of [...opened, ...closed]) expect(line).to.include.keys('connectionId', 'clientAddress', 'userId');
    expect(closed.map((l) => l.userId)).to.deep.equal([userId, userId, userId]);
    expect([...opened, ...closed].every((l) => l.level === 'debug')).to.equal(true);
    // The wrong code and the wrong password are security events, at info.
    const security = events(lines, 'security');
    expect(security.map((l) => [l.level, l.kind])).to.deep.include.members([['info', '2fa-invalid'], ['info', 'login-failed']]);
    expect(closed.every((l) => typeof l.durationMs === 'number')).to.equal(true);
    expect(new Set(opened.map((l) => l.connectionId))).to.deep.equal(new Set(closed.map((l) => l.connectionId)));
  });

  it('censors the redacted paths even when a line is handed one', () => {
    const out = memoryDestination();
    const logger = createPinoLogger({ level: 'debug', destination: out });
    logger.info({
      password: 'p4ssw0rd-1', twoFactorCode: '914522', authorization: 'Bearer abcdef', 'x-auth-token': 'tok-123456', 'x-2fa-code': '271828',
      headers: { authorization: 'Basic xyz123', 'x-auth-token': 'tok-654321', 'x-2fa-code': '314159' },
      body: { password: 'p4ssw0rd-2', code: '161803', token: 'tok-999999', secret: 'JBSWY3DPEHPK3PXP' },
    }, 'handed secrets');
    const text = out.lines.join('');
    for (const secret of ['p4ssw0rd', '914522', 'abcdef', 'tok-', '271828', 'xyz123', '314159', '161803', 'JBSWY3DPEHPK3PXP']) expect(text).to.not.include(secret);
    expect(REDACTED_PATHS).to.include.members(['*.password', '*.code', '*.token', '*.secret', 'twoFactorCode', 'authorization', '["x-auth-token"]', '["x-2fa-code"]']);
    expect(JSON.parse(out.lines[0]!)).to.deep.include({ level: 'info', msg: 'handed secrets' });
  });

  it('writes nothing below the level', () => {
    const out = memoryDestination();
    const logger = createPinoLogger({ level: 'warn', destination: out });
    logger.debug({}, 'no');
    logger.info({}, 'no');
    logger.warn({}, 'yes');
    expect(out.lines.map((l) => (JSON.parse(l) as Line).msg)).to.deep.equal(['yes']);
  });
});
