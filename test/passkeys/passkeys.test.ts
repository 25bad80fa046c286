/**
 * Passkeys over the wire with a software authenticator (no browser): enrolment, the factor in
 * the guard, passwordless sign-in, HTTP, and the attacks of SPEC §3c — wrong origin, wrong RP
 * ID, a replayed assertion, a challenge of another user or already used, a counter going
 * backwards, a removed credential, user verification missing — each refused and counted.
 */
import { expect } from 'chai';
import { resetUserTwoFactor, listUsers } from '../../server/accounts/admin.js';
import { connectNode, passkeyHandler, type TwoFactorChallenge } from '../../client/node.js';
import { passwordAnswer, passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';
import { SoftAuthenticator, type CreationOptions, type Json, type RequestOptions } from './soft-authenticator.js';

const passkeyAnswer = (assertion: Json): { twoFactorCode: string; twoFactorMethod: string } => ({ twoFactorCode: JSON.stringify(assertion), twoFactorMethod: 'passkey' });

describe('passkeys (software authenticator)', () => {
  let fx: Fixture;
  let origin: string;
  let http: string;

  beforeEach(async () => {
    fx = await startFixture({ maxFailedAttempts: 3 });
    const port = new URL(fx.url).port;
    origin = `http://localhost:${port}`;
    http = `http://127.0.0.1:${port}`;
  });
  afterEach(stopFixtures);

  /** A user logged in with the password who enrols a passkey (proving the password: no factor yet). */
  async function enrolled(name: string): Promise<{ client: TestClient; userId: string; auth: SoftAuthenticator; id: string }> {
    const user = await fx.user(name);
    const { client } = await fx.login(name);
    const auth = new SoftAuthenticator(origin);
    const options = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
    const added = (await client.ok('2fa:passkey:register', { name: 'Laptop', response: auth.create(options) }, passwordAnswer(name))) as { id: string; name: string };
    return { client, userId: user.id, auth, id: added.id };
  }

  /** Ask a guarded method, and return the passkey options of the challenge. */
  async function asked(client: TestClient, method = 'app.always'): Promise<{ details: Msg; options: RequestOptions }> {
    const err = await client.fails(method);
    expect(err.error).to.equal('totp-required');
    const details = err.details as Msg;
    return { details, options: details.passkeyOptions as RequestOptions };
  }

  const audits = async (userId: string, action: string): Promise<number> =>
    (await fx.services.store.audit.list({ userId })).filter((a) => a.action === action).length;

  describe('enrolment and management', () => {
    it('registers with the password as proof (no factor yet), lists, renames and removes (asking the passkey), all audited', async () => {
      const { client, userId, auth, id } = await enrolled('ada');
      const creation = (await client.ok('2fa:passkey:registrationOptions')) as Msg;
      expect(creation).to.deep.include({ attestation: 'none' });
      expect(creation.authenticatorSelection).to.deep.include({ residentKey: 'required', userVerification: 'required' });
      expect((creation.excludeCredentials as Msg[]).map((c) => c.id)).to.deep.equal([id]);
      // Listing asks for the factor (an account read); answered, the client is trusted for a while.
      const listAsked = await asked(client, '2fa:passkey:list');
      expect(listAsked.details).to.deep.include({ method: 'passkey' });
      const list = (await client.ok('2fa:passkey:list', passkeyAnswer(auth.get(listAsked.options)))) as Msg[];
      // Last used: just now, to answer the list's own challenge.
      expect(list.map((p) => [p.id, p.name, p.lastUsedAt])).to.deep.equal([[id, 'Laptop', new Date(fx.clock.now())]]);
      expect(list[0]!.createdAt).to.be.instanceOf(Date);
      expect(await client.ok('2fa:passkey:rename', { id, name: 'Work laptop' })).to.equal(true);
      expect((await client.fails('2fa:passkey:rename', { id: 'nope', name: 'x' })).error).to.equal('passkey-not-found');
      // Removing is a factor change: the passkey itself is asked, every time.
      const { options } = await asked(client, '2fa:passkey:remove');
      expect((await client.fails('2fa:passkey:remove', { id })).details).to.deep.include({ method: 'passkey', availableMethods: ['passkey'] });
      expect(await client.ok('2fa:passkey:remove', { id }, passkeyAnswer(auth.get(options)))).to.equal(true);
      expect(await client.ok('2fa:passkey:list')).to.deep.equal([]);
      expect(await audits(userId, 'passkey.added')).to.equal(1);
      expect(await audits(userId, 'passkey.renamed')).to.equal(1);
      expect(await audits(userId, 'passkey.removed')).to.equal(1);
    });

    it('a stolen session cannot add a passkey without the existing factor, nor answer another user\'s registration challenge', async () => {
      await fx.user('bo');
      const { client } = await fx.login('bo');
      const attacker = new SoftAuthenticator(origin);
      const options = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
      const response = attacker.create(options);
      expect((await client.fails('2fa:passkey:register', { name: 'evil', response })).details).to.deep.include({ method: 'password' });
      expect((await client.fails('2fa:passkey:register', { name: 'evil', response }, { twoFactorCode: 'ab'.repeat(32), twoFactorMethod: 'password' })).error).to.equal('totp-invalid');
      await fx.user('cy');
      const { client: other } = await fx.login('cy');
      // Cy answers Bo's challenge: refused (it is bound to Bo), and it stays Bo's.
      expect((await other.fails('2fa:passkey:register', { name: 'x', response: attacker.create(options) }, passwordAnswer('cy'))).error).to.equal('passkey-invalid');
      expect(await fx.services.store.passkeys.list((await fx.services.store.users.findByUsername('bo'))!.id)).to.deep.equal([]);
    });

    it('refuses a registration without user verification, for another origin, or answered twice', async () => {
      await fx.user('di');
      const { client } = await fx.login('di');
      for (const bend of [{ noUserVerification: true }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }]) {
        const options = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
        const bent = new SoftAuthenticator(origin).create(options, bend);
        expect((await client.fails('2fa:passkey:register', { name: 'k', response: bent }, passwordAnswer('di'))).error, JSON.stringify(bend)).to.equal('passkey-invalid');
      }
      const auth = new SoftAuthenticator(origin);
      const options = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
      const response = auth.create(options);
      await client.ok('2fa:passkey:register', { name: 'k', response }, passwordAnswer('di'));
      const again = await client.fails('2fa:passkey:register', { name: 'k', response }, { twoFactorCode: JSON.stringify(auth.get((await asked(client)).options)), twoFactorMethod: 'passkey' });
      expect(again.error).to.equal('passkey-invalid');
    });
  });

  describe('the second factor', () => {
    it('is preferred over TOTP, accepted once, and Rocket.Chat clients can still name totp', async () => {
      const { client, auth } = await enrolled('ed');
      const { secret } = await fx.enrolTotp(client, passkeyAnswer(auth.get((await asked(client, '2fa:enable')).options)));
      const { details, options } = await asked(client);
      expect(details).to.deep.include({ method: 'passkey', availableMethods: ['passkey', 'totp'] });
      expect(options).to.deep.include({ userVerification: 'required', rpId: 'localhost' });
      expect((options as Msg).allowCredentials).to.have.length(1);
      const assertion = auth.get(options);
      expect(await client.ok('app.always', passkeyAnswer(assertion))).to.equal('always');
      // Replayed: the challenge is spent.
      expect((await client.fails('app.always', passkeyAnswer(assertion))).error).to.equal('totp-invalid');
      expect(await client.ok('app.always', totpAnswer(fx.nextTotp(secret)))).to.equal('always');
    });

    it('asks at login after the password, and trusts the client afterwards as any factor does', async () => {
      const { auth } = await enrolled('flo');
      const login = await fx.connect();
      const err = await login.fails('login', passwordLogin('flo'));
      expect(err.details).to.deep.include({ method: 'passkey' });
      const answer = auth.get((err.details as Msg).passkeyOptions as RequestOptions);
      await login.ok('login', { totp: { login: passwordLogin('flo'), code: JSON.stringify(answer), method: 'passkey' } });
      expect(await login.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      expect((await login.fails('app.always')).error).to.equal('totp-required');
    });

    // Each answer spends the challenge it names: the honest answer to it is refused afterwards.
    const attacks: [string, (auth: SoftAuthenticator, options: RequestOptions) => Json, boolean][] = [
      ['a wrong origin', (a, o) => a.get(o, { origin: 'https://evil.example' }), true],
      ['a wrong RP ID', (a, o) => a.get(o, { rpId: 'evil.example' }), true],
      ['user verification missing', (a, o) => a.get(o, { noUserVerification: true }), true],
      ['a made-up challenge', (a, o) => a.get(o, { challenge: 'AAAAAAAAAAAAAAAAAAAAAA' }), false],
    ];
    for (const [what, answer, spends] of attacks) {
      it(`refuses ${what} and counts it`, async () => {
        const { client, userId, auth } = await enrolled('gus');
        const { options } = await asked(client);
        const err = await client.fails('app.always', passkeyAnswer(answer(auth, options)));
        expect(err.error).to.equal('totp-invalid');
        // A fresh challenge comes with the refusal; the old one is spent.
        expect((err.details as Msg).passkeyOptions).to.have.property('challenge').that.not.equals(options.challenge);
        expect((await fx.services.store.attempts.get(userId, 'passkey', new Date(fx.clock.now()))).failures).to.equal(1);
        if (spends) expect((await client.fails('app.always', passkeyAnswer(auth.get(options)))).error).to.equal('totp-invalid');
        else expect(await client.ok('app.always', passkeyAnswer(auth.get(options)))).to.equal('always');
      });
    }

    it('refuses a challenge issued to another user', async () => {
      const { client: hal, auth } = await enrolled('hal');
      const { client: ivy } = await enrolled('ivy');
      const { options: ivys } = await asked(ivy);
      expect((await hal.fails('app.always', passkeyAnswer(auth.get(ivys)))).error).to.equal('totp-invalid');
      // Nor is a passkey of another user accepted for this one.
      const { options: hals } = await asked(hal);
      expect((await ivy.fails('app.always', passkeyAnswer(auth.get(hals)))).error).to.equal('totp-invalid');
    });

    it('refuses a counter going backwards (a cloned authenticator) and audits it', async () => {
      const { client, userId, auth } = await enrolled('jo');
      await client.ok('app.always', passkeyAnswer(auth.get((await asked(client)).options, { counter: 10 })));
      const err = await client.fails('app.always', passkeyAnswer(auth.get((await asked(client)).options, { counter: 7 })));
      expect(err.error).to.equal('totp-invalid');
      expect(await audits(userId, 'passkey.counter-regressed')).to.equal(1);
      expect((await fx.services.store.passkeys.list(userId))[0]!.counter).to.equal(10);
    });

    it('refuses a removed credential', async () => {
      const { client, userId, auth, id } = await enrolled('kai');
      // A second passkey on the same authenticator, then the first is removed.
      const creation = (await client.ok('2fa:passkey:registrationOptions')) as CreationOptions;
      const second = auth.create(creation);
      await client.ok('2fa:passkey:register', { name: 'Phone', response: second }, passkeyAnswer(auth.get((await asked(client, '2fa:passkey:register')).options, {}, auth.credentials[0])));
      expect(await client.ok('2fa:passkey:remove', { id }, passkeyAnswer(auth.get((await asked(client)).options, {}, auth.credentials[1])))).to.equal(true);
      const { options } = await asked(client);
      expect((await client.fails('app.always', passkeyAnswer(auth.get(options, {}, auth.credentials[0])))).error).to.equal('totp-invalid');
      expect(await client.ok('app.always', passkeyAnswer(auth.get((await asked(client)).options, {}, auth.credentials[1])))).to.equal('always');
      expect((await fx.services.store.passkeys.list(userId)).map((p) => p.name)).to.deep.equal(['Phone']);
    });

    it('locks the factor after too many failures: even a right answer waits', async () => {
      const { client, auth } = await enrolled('lu');
      for (let i = 0; i < 2; i++) expect((await client.fails('app.always', passkeyAnswer(auth.get((await asked(client)).options, { origin: 'https://evil.example' })))).error).to.equal('totp-invalid');
      const { options } = await asked(client);
      expect((await client.fails('app.always', passkeyAnswer(auth.get(options, { rpId: 'x.example' })))).error).to.equal('totp-max-attempts');
      const locked = await client.fails('app.always');
      expect(locked.error).to.equal('totp-max-attempts');
    });
  });

  describe('passwordless sign-in', () => {
    it('signs in with a discoverable credential, on the connection that asked, and a challenge is single use', async () => {
      const { userId, auth } = await enrolled('mo');
      const browser = await fx.connect();
      const options = (await browser.ok('passkey:loginOptions')) as RequestOptions & Msg;
      expect(options.allowCredentials ?? []).to.deep.equal([]);
      const assertion = auth.get(options);
      const result = (await browser.ok('login', { passkey: { response: assertion } })) as Msg;
      expect(result).to.deep.include({ id: userId, type: 'passkey' });
      expect(await browser.ok('app.echo', 1)).to.deep.equal({ count: 1, args: [1] });
      // The sign-in is in the user's security log, and the new session says where it was used.
      const signIns = (await fx.services.store.audit.list({ userId })).filter((a) => a.action === 'user.login');
      expect(signIns.map((a) => a.details)).to.deep.include({ via: 'passkey', twoFactor: true });
      const sessions = (await browser.ok('sessions:list')) as { sessions: Msg[] };
      const current = sessions.sessions.find((s) => s.current === true);
      expect(current?.lastUsedAt, 'the passkey session records its first use').to.be.instanceOf(Date);
      const again = await fx.connect();
      expect((await again.fails('login', { passkey: { response: assertion } })).error).to.equal(403);
      // A challenge asked for on another connection does not sign this one in.
      const elsewhere = (await (await fx.connect()).ok('passkey:loginOptions')) as RequestOptions;
      expect((await again.fails('login', { passkey: { response: auth.get(elsewhere) } })).error).to.equal(403);
      expect((await again.fails('login', { passkey: { response: { id: 'x' } } })).error).to.equal(403);
    });

    it('over HTTP: POST /api/v1/login with {passkey}, and x-2fa-method: passkey on a guarded call', async () => {
      const { userId, auth } = await enrolled('nia');
      const anon = await fetch(`${http}/api/v1/method.callAnon/passkey:loginOptions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: JSON.stringify({ msg: 'method', method: 'passkey:loginOptions', params: [], id: '1' }) }),
      });
      const options = (JSON.parse(((await anon.json()) as { message: string }).message) as Msg).result as RequestOptions;
      const login = await fetch(`${http}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ passkey: auth.get(options) }) });
      const body = (await login.json()) as { data: { userId: string; authToken: string } };
      expect(login.status, JSON.stringify(body)).to.equal(200);
      expect(body.data.userId).to.equal(userId);
      const headers = { 'content-type': 'application/json', 'x-user-id': userId, 'x-auth-token': body.data.authToken };
      const call = (extra: Record<string, string> = {}) => fetch(`${http}/api/v1/method.call/app.always`, {
        method: 'POST', headers: { ...headers, ...extra },
        body: JSON.stringify({ message: JSON.stringify({ msg: 'method', method: 'app.always', params: [], id: '2' }) }),
      });
      const first = await call();
      expect(first.status).to.equal(400);
      const refused = (await first.json()) as { errorType: string; details: Msg };
      expect(refused.errorType).to.equal('totp-required');
      const answer = JSON.stringify(auth.get(refused.details.passkeyOptions as RequestOptions));
      const second = await call({ 'x-2fa-code': answer, 'x-2fa-method': 'passkey' });
      expect(second.status).to.equal(200);
      expect((JSON.parse(((await second.json()) as { message: string }).message) as Msg).result).to.equal('always');
    });
  });

  it('a Node client: onTwoFactorRequired gets the details, and the passkey helper says it needs a browser', async () => {
    const { userId, auth } = await enrolled('pia');
    const seen: TwoFactorChallenge[] = [];
    const client = await connectNode(fx.url, {
      onTwoFactorRequired: (challenge) => {
        seen.push(challenge);
        // The test's authenticator stands in for the browser.
        return { code: JSON.stringify(auth.get(challenge.details.passkeyOptions as RequestOptions)), method: 'passkey' };
      },
    });
    try {
      await client.loginWithPassword('pia', 'pw-pia');
      expect(client.userId).to.equal(userId);
      expect(await client.call('app.always')).to.equal('always');
      expect(seen.map((c) => [c.method, c.details.method])).to.deep.equal([['login', 'passkey'], ['app.always', 'passkey']]);
      expect(seen[1]!.details.passkeyOptions?.challenge).to.be.a('string');
    } finally {
      client.close();
    }
    const bare = await connectNode(fx.url, { onTwoFactorRequired: passkeyHandler() });
    try {
      const err = await bare.loginWithPassword('pia', 'pw-pia').then(() => null, (e: unknown) => e as { error: string; reason: string; details: { availableMethods: string[] } });
      expect(err?.error).to.equal('passkey-unsupported');
      expect(err?.reason).to.match(/passkey needs a browser/);
      expect(err?.details.availableMethods).to.deep.equal(['passkey']);
    } finally {
      bare.close();
    }
  });

  it('the administrator lists passkeys and reset-2fa removes them', async () => {
    const { userId } = await enrolled('ola');
    expect((await listUsers({ store: fx.services.store })).find((u) => u.id === userId)?.twoFactor.passkeys).to.equal(1);
    const reset = await resetUserTwoFactor({ store: fx.services.store, clock: fx.clock }, 'ola', 'admin');
    expect(reset.passkeysRemoved).to.equal(1);
    expect(await fx.services.store.passkeys.list(userId)).to.deep.equal([]);
  });
});
