/**
 * Personal access tokens: created, regenerated and removed only with a second factor; a token
 * with `bypassTwoFactor` skips the guard except on `requireSecondFactor` methods; they never
 * expire; their values are never listed; removing one ends the sessions using it.
 */
import { expect } from 'chai';
import { startFixture, stopFixtures, totpAnswer, type Fixture } from './fixture.js';
import type { TestClient } from './client.js';

describe('two-factor: personal access tokens', () => {
  let fx: Fixture;
  let owner: TestClient;
  let secret: string;

  async function generate(name: string, bypassTwoFactor: boolean): Promise<string> {
    return (await owner.ok('personalAccessTokens:generateToken', { tokenName: name, bypassTwoFactor }, totpAnswer(fx.nextTotp(secret)))) as string;
  }

  async function tokenSession(token: string): Promise<TestClient> {
    const client = await fx.connect();
    const result = (await client.ok('login', { resume: token })) as { type: string };
    expect(result.type).to.equal('resume');
    return client;
  }

  beforeEach(async () => {
    fx = await startFixture({ trustedClientMs: 0 });
    await fx.user('alice');
    ({ client: owner } = await fx.login('alice'));
    ({ secret } = await fx.enrolTotp(owner));
  });
  afterEach(stopFixtures);

  it('creating a token asks for the second factor', async () => {
    const err = await owner.fails('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: true });
    expect(err.error).to.equal('totp-required');
    expect(await fx.services.store.personalTokens.list((await fx.services.store.users.findByUsername('alice'))!.id)).to.have.length(0);
    const token = await generate('ci', true);
    expect(token).to.be.a('string').with.length.greaterThan(40);
  });

  it('a session on a bypass token skips the guard, except on a requireSecondFactor method', async () => {
    const session = await tokenSession(await generate('ci', true));
    expect(await session.ok('app.echo', 'no code')).to.deep.equal({ count: 1, args: ['no code'] });
    expect(await session.ok('app.always')).to.equal('always');
    const strict = await session.fails('app.strict');
    expect(strict.error).to.equal('totp-required');
    expect(strict.details).to.deep.equal({ method: 'totp', codeGenerated: false, availableMethods: ['totp'] });
    expect(await session.ok('app.strict', totpAnswer(fx.nextTotp(secret)))).to.equal('strict');
  });

  it('a bypass token does not stand in for the code that 2fa:disable and 2fa:regenerateCodes take as a parameter', async () => {
    const session = await tokenSession(await generate('ci', true));
    const wrong = fx.wrongTotp(secret);
    expect((await session.fails('2fa:regenerateCodes', wrong)).error).to.equal('totp-invalid');
    expect((await session.fails('2fa:disable', wrong)).error).to.equal('totp-invalid');
    const userId = (await fx.services.store.users.findByUsername('alice'))!.id;
    const state = await fx.services.store.twoFactor.get(userId);
    expect(state.totpEnabled).to.equal(true);
    expect(state.backupCodesRemaining).to.equal(12);
    expect(await session.ok('2fa:disable', fx.nextTotp(secret))).to.equal(true);
  });

  it('2fa:disableEmail asks even a bypass-token session', async () => {
    const session = await tokenSession(await generate('ci', true));
    const userId = (await fx.services.store.users.findByUsername('alice'))!.id;
    await fx.services.store.twoFactor.setEmailEnabled(userId, true);
    expect((await session.fails('2fa:disableEmail')).error).to.equal('totp-required');
    expect((await fx.services.store.twoFactor.get(userId)).emailEnabled).to.equal(true);
    expect(await session.ok('2fa:disableEmail', totpAnswer(fx.nextTotp(secret)))).to.equal(true);
  });

  it('a bypass-token session cannot create, regenerate or remove tokens without a code', async () => {
    const session = await tokenSession(await generate('ci', true));
    for (const [method, arg] of [
      ['personalAccessTokens:generateToken', { tokenName: 'minted', bypassTwoFactor: true }],
      ['personalAccessTokens:regenerateToken', { tokenName: 'ci' }],
      ['personalAccessTokens:removeToken', { tokenName: 'ci' }],
    ] as const) {
      expect((await session.fails(method, arg)).error, method).to.equal('totp-required');
    }
    const userId = (await fx.services.store.users.findByUsername('alice'))!.id;
    expect((await fx.services.store.personalTokens.list(userId)).map((t) => t.name)).to.deep.equal(['ci']);
    expect(typeof (await session.ok('personalAccessTokens:generateToken', { tokenName: 'minted' }, totpAnswer(fx.nextTotp(secret))))).to.equal('string');
  });

  it('a session on a token without bypass is asked', async () => {
    const session = await tokenSession(await generate('plain', false));
    expect((await session.fails('app.echo')).error).to.equal('totp-required');
    expect(await session.ok('app.echo', totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ count: 0, args: [] });
  });

  it('regenerating and removing a token ask for the second factor', async () => {
    const old = await generate('ci', true);
    expect((await owner.fails('personalAccessTokens:regenerateToken', { tokenName: 'ci' })).error).to.equal('totp-required');
    const fresh = (await owner.ok('personalAccessTokens:regenerateToken', { tokenName: 'ci' }, totpAnswer(fx.nextTotp(secret)))) as string;
    expect(fresh).to.be.a('string').and.not.equal(old);
    const stale = await fx.connect();
    expect((await stale.fails('login', { resume: old })).error).to.equal(403);
    expect((await owner.fails('personalAccessTokens:removeToken', { tokenName: 'ci' })).error).to.equal('totp-required');
    expect(await owner.ok('personalAccessTokens:removeToken', { tokenName: 'ci' }, totpAnswer(fx.nextTotp(secret)))).to.equal(true);
  });

  it('tokens never expire, unlike session tokens', async () => {
    const pat = await generate('ci', true);
    const sessionToken = (await fx.loginWithTotp('alice', secret)).token;
    fx.clock.advance(5 * 366 * 24 * 3600 * 1000);
    const session = await tokenSession(pat);
    expect(await session.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
    const expired = await fx.connect();
    expect((await expired.fails('login', { resume: sessionToken })).error).to.equal(403);
  });

  it('the list shows no token values', async () => {
    const tokens = [await generate('ci', true), await generate('backup-bot', false)];
    const list = (await owner.ok('personalAccessTokens:list')) as Record<string, unknown>[];
    expect(list.map((t) => t.name)).to.deep.equal(['ci', 'backup-bot']);
    expect(list.map((t) => t.bypassTwoFactor)).to.deep.equal([true, false]);
    for (const entry of list) expect(Object.keys(entry).sort()).to.deep.equal(['bypassTwoFactor', 'createdAt', 'lastUsedAt', 'name']);
    const text = JSON.stringify(list);
    for (const token of tokens) expect(text).not.to.include(token);
  });

  it('removing a token closes the sessions using it', async () => {
    const session = await tokenSession(await generate('ci', true));
    const bystander = await tokenSession(await generate('other', true));
    await owner.ok('personalAccessTokens:removeToken', { tokenName: 'ci' }, totpAnswer(fx.nextTotp(secret)));
    expect(await session.closed).to.equal(1000);
    // A round trip on each after the close: had the revocation closed them too, they would
    // have been closed before answering (one pass ends every connection of the token).
    expect(await bystander.ok('app.open')).to.equal('open');
    expect(await owner.ok('app.open')).to.equal('open');
    expect(bystander.isClosed).to.equal(false);
    expect(owner.isClosed).to.equal(false);
  });
});
