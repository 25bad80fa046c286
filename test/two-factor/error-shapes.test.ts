/**
 * The guard's errors on the wire, in Rocket.Chat's shapes: `totp-required`, `totp-invalid`,
 * `totp-max-attempts`, for each factor and for `login`.
 */
import { expect } from 'chai';
import { passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from './fixture.js';

describe('two-factor: error shapes on the wire', () => {
  let fx: Fixture;

  beforeEach(async () => {
    fx = await startFixture({ trustedClientMs: 0, maxFailedAttempts: 3, lockoutBaseMs: 60_000 });
  });
  afterEach(stopFixtures);

  it('totp-required for TOTP is exactly Meteor\'s error with Rocket.Chat\'s details, byte for byte', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    await fx.enrolTotp(client);
    const { msg, text } = await client.call('app.echo', 1);
    expect(text).to.equal(
      `{"msg":"result","id":${JSON.stringify(msg.id)},"error":{"isClientSafe":true,"error":"totp-required","reason":"TOTP Required",` +
      '"details":{"method":"totp","codeGenerated":false,"availableMethods":["totp"]},' +
      '"message":"TOTP Required [totp-required]","errorType":"Meteor.Error"}}',
    );
  });

  it('totp-invalid after a wrong code, with the same details', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    const err = await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    expect(err).to.deep.equal({
      isClientSafe: true,
      error: 'totp-invalid',
      reason: 'TOTP Invalid',
      details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'] },
      message: 'TOTP Invalid [totp-invalid]',
      errorType: 'Meteor.Error',
    });
  });

  it('totp-max-attempts with Rocket.Chat\'s reason (sic) and lockedFor', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    const err = await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    expect(err).to.deep.equal({
      isClientSafe: true,
      error: 'totp-max-attempts',
      reason: 'TOTP Maximun Failed Attempts Reached',
      details: { method: 'totp', codeGenerated: false, availableMethods: ['totp'], lockedFor: 60_000 },
      message: 'TOTP Maximun Failed Attempts Reached [totp-max-attempts]',
      errorType: 'Meteor.Error',
    });
  });

  it('email: codeGenerated true with codeExpires on the first challenge, false while that code is active', async () => {
    const alice = await fx.user('alice');
    const { client } = await fx.login('alice');
    await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
    const first = await client.fails('app.echo');
    const expires = new Date(fx.clock.now() + fx.services.options.emailCodeLifetimeMs);
    expect(first.error).to.equal('totp-required');
    expect(first.details).to.deep.equal({ method: 'email', codeGenerated: true, codeExpires: expires, emailOrUsername: 'alice', availableMethods: ['email'] });
    expect(first.details.codeExpires).to.be.instanceOf(Date);
    expect(Object.keys(first.details)).to.deep.equal(['method', 'codeGenerated', 'codeExpires', 'emailOrUsername', 'availableMethods']);
    fx.clock.advance(60_000);
    const second = await client.fails('app.echo');
    expect(second.details).to.deep.equal({ method: 'email', codeGenerated: false, codeExpires: expires, emailOrUsername: 'alice', availableMethods: ['email'] });
    expect(fx.mailsTo('alice@example.com')).to.have.length(1);
  });

  it('email: emailOrUsername names the account on every path (required, invalid, a factor the user lacks, max-attempts)', async () => {
    const alice = await fx.user('alice');
    const { client } = await fx.login('alice');
    await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
    const required = await client.fails('app.echo');
    expect(required).to.include({ error: 'totp-required' });
    expect(required.details).to.include({ method: 'email', emailOrUsername: 'alice' });
    // Rocket.Chat's clients resend a code with it: 2fa:sendEmailCode takes it as it is.
    expect(await client.ok('2fa:sendEmailCode', { emailOrUsername: required.details.emailOrUsername })).to.equal(undefined);
    const invalid = await client.fails('app.echo', { twoFactorCode: '000000', twoFactorMethod: 'email' });
    expect(invalid).to.include({ error: 'totp-invalid' });
    expect(invalid.details).to.include({ method: 'email', emailOrUsername: 'alice' });
    // Naming TOTP, which alice does not have: refused on her email factor, which is named the same way.
    const unavailable = await client.fails('app.echo', { twoFactorCode: '123456', twoFactorMethod: 'totp' });
    expect(unavailable).to.include({ error: 'totp-invalid' });
    expect(unavailable.details).to.deep.equal({ method: 'email', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['email'] });
    await client.fails('app.echo', { twoFactorCode: '000001', twoFactorMethod: 'email' });
    const locked = await client.fails('app.echo', { twoFactorCode: '000002', twoFactorMethod: 'email' });
    expect(locked).to.include({ error: 'totp-max-attempts' });
    expect(locked.details).to.deep.equal({ method: 'email', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['email'], lockedFor: 60_000 });
    const stillLocked = await client.fails('app.echo');
    expect(stillLocked.details).to.include({ method: 'email', emailOrUsername: 'alice' });
  });

  it('TOTP and the password fallback carry no emailOrUsername outside login, as Rocket.Chat\'s', async () => {
    await fx.user('bob');
    const { client } = await fx.login('bob');
    expect((await client.fails('app.echo')).details).to.not.have.property('emailOrUsername');
  });

  it('password fallback: method password and no available methods', async () => {
    await fx.user('bob');
    const { client } = await fx.login('bob');
    const err = await client.fails('app.echo');
    expect(err).to.deep.equal({
      isClientSafe: true,
      error: 'totp-required',
      reason: 'TOTP Required',
      details: { method: 'password', codeGenerated: false, availableMethods: [] },
      message: 'TOTP Required [totp-required]',
      errorType: 'Meteor.Error',
    });
  });

  it('a method with disablePasswordFallback runs for a user without a factor; requireSecondFactor still asks for the password', async () => {
    await fx.user('bob');
    const { client } = await fx.login('bob');
    expect(await client.ok('app.noFallback')).to.equal('no-fallback');
    const err = await client.fails('app.strict');
    expect(err.details).to.deep.equal({ method: 'password', codeGenerated: false, availableMethods: [] });
  });

  it('login: the details carry emailOrUsername, in Rocket.Chat\'s key order', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    await fx.enrolTotp(client);
    const other = await fx.connect();
    const err = await other.fails('login', passwordLogin('alice'));
    expect(err).to.deep.equal({
      isClientSafe: true,
      error: 'totp-required',
      reason: 'TOTP Required',
      details: { method: 'totp', codeGenerated: false, emailOrUsername: 'alice', availableMethods: ['totp'] },
      message: 'TOTP Required [totp-required]',
      errorType: 'Meteor.Error',
    });
    expect(Object.keys(err.details)).to.deep.equal(['method', 'codeGenerated', 'emailOrUsername', 'availableMethods']);
    const byEmail = await other.fails('login', { user: { email: 'alice@example.com' }, password: passwordLogin('alice').password });
    expect(byEmail.details.emailOrUsername).to.equal('alice@example.com');
  });

  it('login with an email factor: a code is sent and the details say so', async () => {
    const alice = await fx.user('alice');
    await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
    const client = await fx.connect();
    const err = await client.fails('login', passwordLogin('alice'));
    expect(err.details).to.deep.equal({
      method: 'email',
      codeGenerated: true,
      codeExpires: new Date(fx.clock.now() + fx.services.options.emailCodeLifetimeMs),
      emailOrUsername: 'alice',
      availableMethods: ['email'],
    });
    const code = await fx.emailCode('alice@example.com');
    const result = (await client.ok('login', { totp: { login: passwordLogin('alice'), code, method: 'email' } })) as { id: string; type: string };
    expect(result).to.include({ id: alice.id, type: 'password' });
  });
});
