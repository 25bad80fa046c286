/**
 * The threat model (SPEC §3): an attacker who holds a session token or a personal access token
 * — not the user's second factor, not their password — tries to take the account over. Each
 * attack is made over the wire, as the attacker would: on their own connection, from their own
 * address and user-agent, with the stolen token; over HTTP too where the path exists.
 */
import { expect } from 'chai';
import { generateTotpCode, generateTotpSecret } from '../../server/two-factor/totp.js';
import { passwordAnswer, passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from './fixture.js';
import type { Msg, TestClient } from './client.js';

/** The attacker's own authenticator app: they know this secret, the victim does not. */
const ATTACKER = { userAgent: 'attacker-laptop/1.0', forwardedFor: '203.0.113.66' };

describe('two-factor: a stolen token cannot take the account over', () => {
  let fx: Fixture;

  beforeEach(async () => {
    // The default trusted window (5 min), and one trusted proxy so each client has its own address.
    fx = await startFixture({ httpForwardedCount: 1 });
  });
  afterEach(stopFixtures);

  /** The attacker's connection, resumed with the victim's stolen token. */
  async function stolen(token: string): Promise<TestClient> {
    const attacker = await fx.connect(ATTACKER);
    await attacker.ok('login', { resume: token });
    return attacker;
  }

  /** An email-code user, logged in on their own device; their token leaks. */
  async function emailUser(name: string): Promise<{ victim: TestClient; token: string; userId: string }> {
    const user = await fx.user(name);
    await fx.services.store.twoFactor.setEmailEnabled(user.id, true);
    const victim = await fx.connect();
    const asked = await victim.fails('login', passwordLogin(name));
    expect(asked.details.method).to.equal('email');
    const result = (await victim.ok('login', { totp: { login: passwordLogin(name), code: await fx.emailCode(`${name}@example.com`) } })) as Msg;
    return { victim, token: result.token as string, userId: user.id };
  }

  it('enrolling the attacker’s authenticator with a stolen session of an email-code user asks for the emailed code', async () => {
    const { token, userId } = await emailUser('erin');
    const attacker = await stolen(token);
    const mailsBefore = fx.mailsTo('erin@example.com').length;
    const asked = await attacker.fails('2fa:enable');
    expect(asked.error).to.equal('totp-required');
    expect(asked.details).to.deep.include({ method: 'email', availableMethods: ['email'] });
    // The code goes to the victim's mailbox, not to the attacker; a guess is refused.
    expect((await attacker.fails('2fa:enable', { twoFactorCode: '000000', twoFactorMethod: 'email' })).error).to.equal('totp-invalid');
    // Naming another factor does not help: the password fallback is not the user's factor.
    expect((await attacker.fails('2fa:enable', passwordAnswer('erin'))).error).to.equal('totp-invalid');
    const state = await fx.services.store.twoFactor.get(userId);
    expect(state.pendingTotpSecret).to.equal(null);
    expect(state.totpEnabled).to.equal(false);
    // Without a pending secret there is nothing to confirm, whatever code the attacker's app shows.
    const own = generateTotpSecret();
    expect((await attacker.fails('2fa:validateTempToken', generateTotpCode(own, fx.clock.now()))).error).to.equal('totp-not-started');
    expect(fx.mailsTo('erin@example.com').length).to.equal(mailsBefore + 1);
    // Nor can the attacker switch email codes off, or mint a token.
    expect((await attacker.fails('2fa:disableEmail')).error).to.equal('totp-required');
    expect((await attacker.fails('personalAccessTokens:generateToken', { tokenName: 'mine', bypassTwoFactor: true })).error).to.equal('totp-required');
    expect(await fx.services.store.personalTokens.list(userId)).to.have.length(0);
  });

  it('a user with no factor yet proves the password before a first factor is added: a stolen session cannot', async () => {
    await fx.user('nina');
    const { token, userId } = await fx.login('nina');
    const attacker = await stolen(token);
    const asked = await attacker.fails('2fa:enable');
    expect(asked.details).to.deep.include({ method: 'password', availableMethods: [] });
    expect((await attacker.fails('2fa:enable', { twoFactorCode: 'ab'.repeat(32), twoFactorMethod: 'password' })).error).to.equal('totp-invalid');
    expect((await attacker.fails('2fa:enableEmail')).details.method).to.equal('password');
    const state = await fx.services.store.twoFactor.get(userId);
    expect([state.pendingTotpSecret, state.totpEnabled, state.emailEnabled]).to.deep.equal([null, false, false]);
  });

  it('a trusted client does not stand in for the factor when adding one, nor for minting tokens or changing the password', async () => {
    await fx.user('tara');
    const { client } = await fx.login('tara');
    const { secret } = await fx.enrolTotp(client);
    // A check on this very session makes it trusted for 5 minutes…
    expect(await client.ok('app.echo', totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ count: 0, args: [] });
    expect(await client.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
    // …but factor, token and password changes ask every time.
    for (const [method, params] of [
      ['2fa:enableEmail', []],
      ['2fa:disableEmail', []],
      ['personalAccessTokens:generateToken', [{ tokenName: 'ci', bypassTwoFactor: true }]],
      ['changePassword', [{ digest: 'a'.repeat(64), algorithm: 'sha-256' }, 'a new password, long enough']],
    ] as const) {
      const err = await client.fails(method, ...params);
      expect(err.error, method).to.equal('totp-required');
    }
  });

  for (const bypassTwoFactor of [false, true]) {
    it(`a personal access token (bypassTwoFactor ${bypassTwoFactor}) cannot add a factor, switch one off, mint tokens or change the password`, async () => {
      await fx.user('pat');
      const { client, userId } = await fx.login('pat');
      const { secret } = await fx.enrolTotp(client);
      const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor }, totpAnswer(fx.nextTotp(secret)))) as string;
      const attacker = await stolen(pat);
      if (bypassTwoFactor) expect(await attacker.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      for (const [method, params] of [
        ['2fa:enable', []],
        ['2fa:enableEmail', []],
        ['2fa:disableEmail', []],
        ['personalAccessTokens:generateToken', [{ tokenName: 'mine', bypassTwoFactor: true }]],
        ['personalAccessTokens:regenerateToken', [{ tokenName: 'ci' }]],
        ['personalAccessTokens:removeToken', [{ tokenName: 'ci' }]],
        ['changePassword', [{ digest: 'a'.repeat(64), algorithm: 'sha-256' }, 'a new password, long enough']],
      ] as const) {
        const err = await attacker.fails(method, ...params);
        expect(err.error, method).to.equal('totp-required');
        expect(err.details.method, method).to.equal('totp');
      }
      // A code parameter is no bypass either.
      expect((await attacker.fails('2fa:disable', fx.wrongTotp(secret))).error).to.equal('totp-invalid');
      expect((await fx.services.store.twoFactor.get(userId)).totpEnabled).to.equal(true);
      expect((await fx.services.store.personalTokens.list(userId)).map((t) => t.name)).to.deep.equal(['ci']);
    });
  }

  it('nested calls: a pass by trust or by a bypass token does not carry into requireSecondFactor or disableRememberMe methods', async () => {
    fx.server.methods({
      'app.callsStrict': { twoFactor: true, handler() { return this.call('app.strict'); } },
      'app.callsAlways': { twoFactor: true, handler() { return this.call('app.always'); } },
      'app.callsMint': { twoFactor: true, handler() { return this.call('personalAccessTokens:generateToken', { tokenName: 'nested', bypassTwoFactor: true }); } },
      'app.openCallsAlways': { handler() { return this.call('app.always'); } },
      'app.strictCallsAlways': { twoFactor: { requireSecondFactor: true }, handler() { return this.call('app.always'); } },
    });
    await fx.user('nick');
    const { client, userId } = await fx.login('nick');
    const { secret } = await fx.enrolTotp(client);
    // Trusted after one check.
    expect(await client.ok('app.echo', totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ count: 0, args: [] });
    for (const method of ['app.callsStrict', 'app.callsAlways', 'app.callsMint', 'app.openCallsAlways']) {
      expect((await client.fails(method)).error, method).to.equal('totp-required');
    }
    expect(await fx.services.store.personalTokens.list(userId)).to.have.length(0);
    // The code given to the outer call covers the nested one.
    expect(await client.ok('app.callsAlways', totpAnswer(fx.nextTotp(secret)))).to.equal('always');
    expect(await client.ok('app.strictCallsAlways', totpAnswer(fx.nextTotp(secret)))).to.equal('always');

    const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'bot', bypassTwoFactor: true }, totpAnswer(fx.nextTotp(secret)))) as string;
    const bot = await stolen(pat);
    expect(await bot.ok('app.always')).to.equal('always');
    expect(await bot.ok('app.callsAlways')).to.equal('always');
    expect((await bot.fails('app.callsStrict')).error).to.equal('totp-required');
    expect((await bot.fails('app.callsMint')).error).to.equal('totp-required');
    expect((await fx.services.store.personalTokens.list(userId)).map((t) => t.name)).to.deep.equal(['bot']);
  });
});
