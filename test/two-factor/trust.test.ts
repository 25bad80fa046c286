/**
 * Trusted clients: after a check, the same session token from the same user-agent and address
 * is not asked again until `trustedClientMs` ends. Anything else is asked.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { startFixture, stopFixtures, totpAnswer, type Fixture, type Session } from './fixture.js';
import { TestClient } from './client.js';
import { hashToken } from '../../server/accounts/tokens.js';

const UA = 'Mozilla/5.0 (trust tests)';
const ADDRESS = '203.0.113.7';
const WINDOW = 300_000;

describe('two-factor: trusted clients', () => {
  let fx: Fixture;
  let first: Session;
  let secret: string;

  /** A session checked once (so trusted) from UA at ADDRESS. */
  async function trustedSession(): Promise<void> {
    first = await fx.login('alice', { userAgent: UA, forwardedFor: ADDRESS });
    ({ secret } = await fx.enrolTotp(first.client));
    await first.client.ok('app.echo', totpAnswer(fx.nextTotp(secret)));
  }

  /** The same session token on a new connection (what a reconnecting client does). */
  async function resume(token: string, userAgent: string, forwardedFor: string): Promise<TestClient> {
    const client = await fx.connect({ userAgent, forwardedFor });
    await client.ok('login', { resume: token });
    return client;
  }

  afterEach(stopFixtures);

  describe('with the default window', () => {
    beforeEach(async () => {
      fx = await startFixture({ httpForwardedCount: 1, trustedClientMs: WINDOW });
      await fx.user('alice');
      await trustedSession();
    });

    it('same session, user-agent and address: passes until the window ends, then is asked again', async () => {
      fx.clock.advance(WINDOW - 1);
      expect(await first.client.ok('app.echo', 'a')).to.deep.equal({ count: 1, args: ['a'] });
      const again = await resume(first.token, UA, ADDRESS);
      expect(await again.ok('app.echo', 'b')).to.deep.equal({ count: 1, args: ['b'] });
      fx.clock.advance(1);
      expect((await first.client.fails('app.echo')).error).to.equal('totp-required');
    });

    it('another user-agent is asked again', async () => {
      const client = await resume(first.token, 'curl/8.0', ADDRESS);
      expect((await client.fails('app.echo')).error).to.equal('totp-required');
    });

    it('another address is asked again', async () => {
      const client = await resume(first.token, UA, '198.51.100.9');
      expect((await client.fails('app.echo')).error).to.equal('totp-required');
    });

    it('another session token (one that passed no check) is asked again', async () => {
      // A second login passed a code, so its own token is trusted (one code per sign-in).
      const third = await fx.loginWithTotp('alice', secret, { userAgent: UA, forwardedFor: ADDRESS });
      expect(await third.client.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      // getNewToken: a new token of the same user, same client, that no code vouched for (the
      // old one is revoked).
      const { token } = (await third.client.ok('getNewToken')) as { token: string };
      const other = await resume(token, UA, ADDRESS);
      expect((await other.fails('app.echo')).error).to.equal('totp-required');
      // The first session is still trusted: trust is per token.
      expect(await first.client.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
    });

    it('disableRememberMe methods, 2fa:disableEmail and login always ask, even when trusted', async () => {
      expect(await first.client.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      expect((await first.client.fails('app.always')).error).to.equal('totp-required');
      expect((await first.client.fails('2fa:disableEmail')).error).to.equal('totp-required');
      const login = await first.client.fails('login', { user: { username: 'alice' }, password: 'pw-alice' });
      expect(login.error).to.equal('totp-required');
    });

    it('the stored fingerprint is keyed, not a plain hash of public facts', async () => {
      const token = await fx.services.store.loginTokens.find(hashToken(first.token));
      expect(token?.trust?.fingerprint).to.be.a('string');
      const plain = [UA + ADDRESS, `${UA}:${ADDRESS}`, `${UA}\n${ADDRESS}`, `${UA}|${ADDRESS}`, `trusted-client${UA}${ADDRESS}`]
        .flatMap((s) => [createHash('sha256').update(s).digest('hex'), createHash('sha256').update(s).digest('base64')]);
      expect(plain).not.to.include(token!.trust!.fingerprint);
    });
  });

  it('attack: copying a trusted session\'s user-agent and address with another session token does not pass', async () => {
    fx = await startFixture({ httpForwardedCount: 1, trustedClientMs: WINDOW });
    await fx.user('alice');
    await fx.user('mallory');
    await trustedSession();
    // Another user from the very same client facts.
    const mallory = await fx.login('mallory', { userAgent: UA, forwardedFor: ADDRESS });
    expect((await mallory.client.fails('app.echo')).error).to.equal('totp-required');
    // The same user, another token that no code vouched for (a stolen one), the same facts: still asked.
    const helper = await fx.connect({ userAgent: UA, forwardedFor: ADDRESS });
    await helper.ok('login', { resume: first.token });
    const { token: stolen } = (await helper.ok('getNewToken')) as { token: string };
    const forged = await resume(stolen, UA, ADDRESS);
    expect((await forged.fails('app.echo')).error).to.equal('totp-required');
  });

  it('trustedClientMs 0 never trusts', async () => {
    fx = await startFixture({ trustedClientMs: 0 });
    await fx.user('alice');
    await trustedSession();
    expect((await first.client.fails('app.echo')).error).to.equal('totp-required');
    expect(await first.client.ok('app.echo', totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ count: 0, args: [] });
    expect((await first.client.fails('app.echo')).error).to.equal('totp-required');
  });
});
