/**
 * The retry: the trailing `{twoFactorCode, twoFactorMethod}` is removed before the handler
 * runs, anything else is left alone, and nested in-process calls are not asked again.
 */
import { expect } from 'chai';
import { startFixture, stopFixtures, totpAnswer, type Echo, type Fixture } from './fixture.js';
import type { TestClient } from './client.js';

describe('two-factor: retry with the code as the last parameter', () => {
  let fx: Fixture;
  let client: TestClient;
  let secret: string;

  beforeEach(async () => {
    // No trust: every call below must carry its own code.
    fx = await startFixture({ trustedClientMs: 0 });
    await fx.user('alice');
    ({ client } = await fx.login('alice'));
    ({ secret } = await fx.enrolTotp(client));
  });
  afterEach(stopFixtures);

  it('the retry succeeds and the handler never sees the 2FA argument', async () => {
    const err = await client.fails('app.echo', 'room', 42);
    expect(err.error).to.equal('totp-required');
    const echo = (await client.ok('app.echo', 'room', 42, totpAnswer(fx.nextTotp(secret)))) as Echo;
    expect(echo).to.deep.equal({ count: 2, args: ['room', 42] });
  });

  it('a method with no parameters of its own gets none', async () => {
    const echo = (await client.ok('app.echo', totpAnswer(fx.nextTotp(secret)))) as Echo;
    expect(echo).to.deep.equal({ count: 0, args: [] });
  });

  for (const falsy of [0, false, null, '']) {
    it(`a falsy last parameter (${JSON.stringify(falsy)}) is neither taken as an answer nor dropped`, async () => {
      const err = await client.fails('app.echo', 'x', falsy);
      expect(err.error).to.equal('totp-required');
      const echo = (await client.ok('app.echo', 'x', falsy, totpAnswer(fx.nextTotp(secret)))) as Echo;
      expect(echo).to.deep.equal({ count: 2, args: ['x', falsy] });
    });
  }

  it('an application object with a twoFactorCode key is left untouched', async () => {
    const appObject = { twoFactorCode: 'x', other: 1 };
    const err = await client.fails('app.echo', appObject);
    expect(err.error).to.equal('totp-required');
    const echo = (await client.ok('app.echo', appObject, totpAnswer(fx.nextTotp(secret)))) as Echo;
    expect(echo).to.deep.equal({ count: 1, args: [appObject] });
  });

  it('an answer with an extra key is not an answer: it stays a parameter and the call is asked', async () => {
    const notAnAnswer = { ...totpAnswer(fx.nextTotp(secret)), extra: true };
    const err = await client.fails('app.echo', notAnAnswer);
    expect(err.error).to.equal('totp-required');
  });

  it('only the last parameter is taken: an answer earlier in the list is the application\'s', async () => {
    const early = totpAnswer('123456');
    const echo = (await client.ok('app.echo', early, 'tail', totpAnswer(fx.nextTotp(secret)))) as Echo;
    expect(echo).to.deep.equal({ count: 2, args: [early, 'tail'] });
  });

  it('a nested in-process call to another guarded method does not ask again', async () => {
    const err = await client.fails('app.nested');
    expect(err.error).to.equal('totp-required');
    const echo = (await client.ok('app.nested', totpAnswer(fx.nextTotp(secret)))) as Echo;
    expect(echo).to.deep.equal({ count: 1, args: ['inner'] });
  });
});
