/**
 * Email codes through a real SMTP server on loopback: delivered, single use, expiring, and a
 * clear error (with nothing stored) when the SMTP server refuses.
 */
import { expect } from 'chai';
import { mailsDelivered, startFixture, stopFixtures, type Fixture } from './fixture.js';
import type { TestClient } from './client.js';

const LIFETIME = 120_000;
const ADDRESS = 'alice@example.com';

describe('two-factor: email codes', () => {
  let fx: Fixture;
  let client: TestClient;
  let userId: string;

  const emailAnswer = (code: string) => ({ twoFactorCode: code, twoFactorMethod: 'email' });

  beforeEach(async () => {
    fx = await startFixture({ trustedClientMs: 0, emailCodeLifetimeMs: LIFETIME });
    userId = (await fx.user('alice')).id;
    // Email codes on after the login, which would otherwise ask for one.
    ({ client } = await fx.login('alice'));
    await fx.services.store.twoFactor.setEmailEnabled(userId, true);
  });
  afterEach(stopFixtures);

  it('the code arrives by SMTP to the verified address and answers the challenge once', async () => {
    await client.fails('app.echo');
    const mails = fx.mailsTo(ADDRESS);
    expect(mails).to.have.length(1);
    expect(mails[0]!.to).to.deep.equal([ADDRESS]);
    const code = await fx.emailCode(ADDRESS);
    expect(mails[0]!.text).to.include(code);
    expect(await client.ok('app.echo', 'x', emailAnswer(code))).to.deep.equal({ count: 1, args: ['x'] });
    const again = await client.fails('app.echo', 'x', emailAnswer(code));
    expect(again.error).to.equal('totp-invalid');
    expect(again.details.method).to.equal('email');
  });

  it('a code expires after emailCodeLifetimeMs', async () => {
    await client.fails('app.echo');
    const code = await fx.emailCode(ADDRESS);
    fx.clock.advance(LIFETIME);
    const expired = await client.fails('app.echo', emailAnswer(code));
    expect(expired.error).to.equal('totp-invalid');
    // The expired code is gone, so a new one was sent with the answer.
    expect(expired.details).to.deep.equal({ method: 'email', codeGenerated: true, codeExpires: new Date(fx.clock.now() + LIFETIME), emailOrUsername: 'alice', availableMethods: ['email'] });
    const fresh = await fx.emailCode(ADDRESS, 2);
    expect(await client.ok('app.echo', emailAnswer(fresh))).to.deep.equal({ count: 0, args: [] });
  });

  it('a code still works one millisecond before it expires', async () => {
    await client.fails('app.echo');
    const code = await fx.emailCode(ADDRESS);
    fx.clock.advance(LIFETIME - 1);
    expect(await client.ok('app.echo', emailAnswer(code))).to.deep.equal({ count: 0, args: [] });
  });

  it('2fa:sendEmailCode sends a new code that replaces the previous one', async () => {
    await client.fails('app.echo');
    const first = await fx.emailCode(ADDRESS);
    const anon = await fx.connect();
    fx.clock.advance(60_000); // past the one-mail-a-minute cooldown
    expect(await anon.ok('2fa:sendEmailCode', 'alice')).to.equal(undefined);
    const second = await fx.emailCode(ADDRESS, 2);
    if (first !== second) expect((await client.fails('app.echo', emailAnswer(first))).error).to.equal('totp-invalid');
    expect(await client.ok('app.echo', emailAnswer(second))).to.deep.equal({ count: 0, args: [] });
  });

  it('2fa:sendEmailCode mails a user at most once a minute, however many connections ask', async () => {
    await client.fails('app.echo');
    await fx.emailCode(ADDRESS);
    const askers = await Promise.all([fx.connect(), fx.connect(), fx.connect()]);
    for (const anon of askers) expect(await anon.ok('2fa:sendEmailCode', 'alice')).to.equal(undefined);
    await Promise.all(askers.map((anon) => mailsDelivered(fx, anon)));
    expect(fx.mailsTo(ADDRESS)).to.have.length(1);
    fx.clock.advance(60_000);
    await askers[0]!.ok('2fa:sendEmailCode', 'alice');
    await fx.emailCode(ADDRESS, 2);
    expect(fx.mailsTo(ADDRESS)).to.have.length(2);
  });

  it('SMTP refusing: a clear client-safe error, no code stored; it works once SMTP accepts again', async () => {
    fx.sink.rejectAll = true;
    const { msg } = await client.call('app.echo');
    expect(msg.error).to.deep.include({ isClientSafe: true, error: 'email-send-failed', errorType: 'Meteor.Error' });
    expect(msg.error.reason).to.match(/could not be sent by email/);
    expect(msg.error.reason).not.to.match(/smtp|127\.0\.0\.1|550/i);
    expect(await fx.services.store.codes.findActive(userId, 'email-2fa', new Date(fx.clock.now()))).to.equal(null);
    expect(fx.sink.messages).to.have.length(0);
    fx.sink.rejectAll = false;
    const asked = await client.fails('app.echo');
    expect(asked.details).to.include({ method: 'email', codeGenerated: true });
    const code = await fx.emailCode(ADDRESS);
    expect(await client.ok('app.echo', emailAnswer(code))).to.deep.equal({ count: 0, args: [] });
  });

  it('unverified addresses get no code and do not count as an email factor', async () => {
    const bob = await fx.user('bob', { verified: false });
    await fx.services.store.twoFactor.setEmailEnabled(bob.id, true);
    // Not a factor: the login does not ask either.
    const session = await fx.login('bob');
    const err = await session.client.fails('app.echo');
    expect(err.details).to.deep.equal({ method: 'password', codeGenerated: false, availableMethods: [] });
    await session.client.ok('2fa:sendEmailCode', 'bob');
    await mailsDelivered(fx, session.client);
    expect(fx.mailsTo('bob@example.com')).to.have.length(0);
  });
});
