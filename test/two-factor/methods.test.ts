/**
 * The built-in `2fa:*` methods over the wire: enrolment, backup codes, disabling, email
 * codes on and off, and the audit trail they leave. And no environment switch turns the
 * guard off.
 */
import { expect } from 'chai';
import { startFixture, stopFixtures, passwordAnswer, totpAnswer, type Fixture } from './fixture.js';
import type { TestClient } from './client.js';
import { BACKUP_CODE_ALPHABET } from '../../server/two-factor/backup-codes.js';

const UA = 'audit-agent/2.0';
const ADDRESS = '192.0.2.44';

describe('two-factor: built-in methods', () => {
  let fx: Fixture;

  beforeEach(async () => {
    fx = await startFixture({ trustedClientMs: 0, maxFailedAttempts: 3, lockoutBaseMs: 60_000, httpForwardedCount: 1 });
  });
  afterEach(stopFixtures);

  describe('enrolment', () => {
    let client: TestClient;

    beforeEach(async () => {
      await fx.user('alice');
      ({ client } = await fx.login('alice'));
    });

    it('2fa:enable returns a secret and an otpauth URL, and refuses when TOTP is already enabled', async () => {
      const { secret, url } = (await client.ok('2fa:enable', passwordAnswer('alice'))) as { secret: string; url: string };
      expect(secret).to.match(/^[A-Z2-7]{32}$/);
      expect(url).to.match(/^otpauth:\/\/totp\//).and.include(`secret=${secret}`);
      await client.ok('2fa:validateTempToken', fx.totpNow(secret));
      // Enabling again asks for the factor now enabled (it is a factor change), then refuses.
      expect((await client.fails('2fa:enable')).error).to.equal('totp-required');
      const again = await client.fails('2fa:enable', totpAnswer(fx.nextTotp(secret)));
      expect(again.error).to.equal('totp-already-enabled');
    });

    it('2fa:validateTempToken returns 12 backup codes once', async () => {
      const { secret, codes } = await fx.enrolTotp(client);
      expect(codes).to.have.length(12);
      expect(new Set(codes).size).to.equal(12);
      for (const code of codes) expect([...code].every((c) => BACKUP_CODE_ALPHABET.includes(c)) && code.length === 10, code).to.equal(true);
      expect((await client.fails('2fa:validateTempToken', fx.nextTotp(secret))).error).to.equal('totp-already-enabled');
    });

    it('2fa:validateTempToken ends the user\'s other sessions but not personal-token sessions', async () => {
      await fx.user('bob');
      const other = (await fx.login('alice')).client;
      const bob = (await fx.login('bob')).client;
      const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'bot', bypassTwoFactor: false }, passwordAnswer('alice'))) as string;
      const patSession = await fx.connect();
      await patSession.ok('login', { resume: pat });
      await fx.enrolTotp(client);
      expect(await other.closed).to.equal(1000);
      // A round trip on each after the close: one pass ends every connection of the revoked
      // tokens, so one still answering was not among them.
      for (const c of [client, patSession, bob]) expect(await c.ok('app.open')).to.equal('open');
      expect(client.isClosed).to.equal(false);
      expect(patSession.isClosed).to.equal(false);
      expect(bob.isClosed).to.equal(false);
    });

    it('2fa:validateTempToken counts wrong codes and honours the lock-out (even the right code is refused)', async () => {
      const { secret } = (await client.ok('2fa:enable', passwordAnswer('alice'))) as { secret: string };
      for (let i = 0; i < 2; i++) {
        const err = await client.fails('2fa:validateTempToken', fx.wrongTotp(secret));
        expect(err.error).to.equal('totp-invalid');
        expect(err.details).to.deep.equal({ method: 'totp', codeGenerated: false, availableMethods: [] });
      }
      const locked = await client.fails('2fa:validateTempToken', fx.wrongTotp(secret));
      expect(locked.error).to.equal('totp-max-attempts');
      expect(locked.details.lockedFor).to.equal(60_000);
      const refused = await client.fails('2fa:validateTempToken', fx.totpNow(secret));
      expect(refused.error).to.equal('totp-max-attempts');
      fx.clock.advance(60_000);
      const { codes } = (await client.ok('2fa:validateTempToken', fx.totpNow(secret))) as { codes: string[] };
      expect(codes).to.have.length(12);
    });

    it('the enrolment code cannot be replayed against the guard', async () => {
      const { secret } = (await client.ok('2fa:enable', passwordAnswer('alice'))) as { secret: string };
      const code = fx.totpNow(secret);
      await client.ok('2fa:validateTempToken', code);
      expect((await client.fails('app.echo', totpAnswer(code))).error).to.equal('totp-invalid');
    });
  });

  describe('with TOTP enabled', () => {
    let client: TestClient;
    let secret: string;
    let codes: string[];

    beforeEach(async () => {
      await fx.user('alice');
      ({ client } = await fx.login('alice'));
      ({ secret, codes } = await fx.enrolTotp(client));
    });

    it('2fa:checkCodesRemaining decreases after a backup code is used, and a used code is spent', async () => {
      expect(await client.ok('2fa:checkCodesRemaining')).to.deep.equal({ remaining: 12 });
      // Backup codes are accepted grouped and upper-cased, as people type them.
      const typed = `${codes[0]!.slice(0, 5)}-${codes[0]!.slice(5)}`.toUpperCase();
      expect(await client.ok('app.echo', totpAnswer(typed))).to.deep.equal({ count: 0, args: [] });
      expect(await client.ok('2fa:checkCodesRemaining')).to.deep.equal({ remaining: 11 });
      expect((await client.fails('app.echo', totpAnswer(codes[0]!))).error).to.equal('totp-invalid');
      expect(await client.ok('2fa:checkCodesRemaining')).to.deep.equal({ remaining: 11 });
    });

    it('2fa:regenerateCodes(code) issues new codes and the old ones stop working', async () => {
      expect((await client.fails('2fa:regenerateCodes', fx.wrongTotp(secret))).error).to.equal('totp-invalid');
      const { codes: fresh } = (await client.ok('2fa:regenerateCodes', fx.nextTotp(secret))) as { codes: string[] };
      expect(fresh).to.have.length(12);
      expect(fresh.filter((c) => codes.includes(c))).to.deep.equal([]);
      expect((await client.fails('app.echo', totpAnswer(codes[1]!))).error).to.equal('totp-invalid');
      expect(await client.ok('app.echo', totpAnswer(fresh[1]!))).to.deep.equal({ count: 0, args: [] });
      expect(await client.ok('2fa:checkCodesRemaining')).to.deep.equal({ remaining: 11 });
    });

    it('2fa:disable(code) turns TOTP off only with a valid code', async () => {
      const wrong = await client.fails('2fa:disable', fx.wrongTotp(secret));
      expect(wrong.error).to.equal('totp-invalid');
      expect(await client.ok('2fa:disable', fx.nextTotp(secret))).to.equal(true);
      const userId = (await fx.services.store.users.findByUsername('alice'))!.id;
      expect((await fx.services.store.twoFactor.get(userId)).totpEnabled).to.equal(false);
      // Back to the password fallback.
      expect((await client.fails('app.echo')).details).to.deep.equal({ method: 'password', codeGenerated: false, availableMethods: [] });
      expect((await client.fails('2fa:disable', fx.nextTotp(secret))).error).to.equal('totp-not-enabled');
    });

    it('2fa:disable accepts a backup code, and a spent TOTP code is refused', async () => {
      const code = fx.nextTotp(secret);
      await client.ok('app.echo', totpAnswer(code));
      expect((await client.fails('2fa:disable', code)).error).to.equal('totp-invalid');
      expect(await client.ok('2fa:disable', codes[5]!)).to.equal(true);
    });
  });

  describe('email 2FA on and off', () => {
    it('2fa:enableEmail needs a verified email', async () => {
      await fx.user('unverified', { verified: false });
      const u = (await fx.login('unverified')).client;
      expect((await u.fails('2fa:enableEmail')).error).to.equal('totp-required');
      const err = await u.fails('2fa:enableEmail', passwordAnswer('unverified'));
      expect(err.error).to.equal('email-not-verified');
      const v = (await fx.login((await fx.user('verified')).username)).client;
      expect(await v.ok('2fa:enableEmail', passwordAnswer('verified'))).to.equal(true);
      const err2 = await v.fails('app.echo');
      expect(err2.details).to.include({ method: 'email', codeGenerated: true });
      expect(err2.details.availableMethods).to.deep.equal(['email']);
    });

    it('2fa:disableEmail asks for a code (email) and then turns email codes off', async () => {
      const alice = await fx.user('alice');
      const { client } = await fx.login('alice');
      await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
      expect((await client.fails('2fa:disableEmail')).details.method).to.equal('email');
      const code = await fx.emailCode('alice@example.com');
      expect(await client.ok('2fa:disableEmail', { twoFactorCode: code, twoFactorMethod: 'email' })).to.equal(true);
      expect((await fx.services.store.twoFactor.get(alice.id)).emailEnabled).to.equal(false);
    });
  });

  it('audit records exist for enable, disable, token creation and lock-out, with where from, and no code or secret', async () => {
    const alice = await fx.user('alice');
    const { client } = await fx.login('alice', { userAgent: UA, forwardedFor: ADDRESS });
    const { secret, codes } = await fx.enrolTotp(client);
    const used: string[] = [];
    const next = (): string => {
      const c = fx.nextTotp(secret);
      used.push(c);
      return c;
    };
    const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: true }, totpAnswer(next()))) as string;
    const wrong = [fx.wrongTotp(secret), fx.wrongTotp(secret), fx.wrongTotp(secret)];
    for (const w of wrong) await client.fails('app.echo', totpAnswer(w));
    fx.clock.advance(60_000);
    await client.ok('2fa:disable', next());
    await client.ok('2fa:enableEmail', passwordAnswer('alice'));

    const records = await fx.services.store.audit.list({ userId: alice.id });
    const actions = records.map((r) => r.action);
    for (const action of ['totp.enrolment-started', 'totp.enabled', 'token.created', '2fa.locked-out', 'totp.disabled', 'email-2fa.enabled']) {
      expect(actions, action).to.include(action);
    }
    for (const record of records) {
      expect(record.userId).to.equal(alice.id);
      expect(record.clientAddress).to.equal(ADDRESS);
      expect(record.userAgent).to.equal(UA);
      expect(record.at).to.be.instanceOf(Date);
    }
    expect(records.find((r) => r.action === 'token.created')!.details).to.deep.equal({ name: 'ci', bypassTwoFactor: true });
    expect(records.find((r) => r.action === '2fa.locked-out')!.details).to.include({ factor: 'totp', lockCount: 1 });
    const text = JSON.stringify(records);
    for (const needle of [secret, secret.toLowerCase(), pat, ...codes, ...used, ...wrong, passwordAnswer('alice').twoFactorCode]) {
      expect(text.includes(needle), `audit contains ${needle}`).to.equal(false);
    }
  });

  it('no environment variable switches the guard off', async () => {
    const saved = { TEST_MODE: process.env.TEST_MODE, NODE_ENV: process.env.NODE_ENV };
    process.env.TEST_MODE = 'true';
    process.env.NODE_ENV = 'test';
    try {
      await fx.user('alice');
      const { client } = await fx.login('alice');
      const { secret } = await fx.enrolTotp(client);
      expect((await client.fails('app.echo')).error).to.equal('totp-required');
      expect((await client.fails('app.strict')).error).to.equal('totp-required');
      expect((await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)))).error).to.equal('totp-invalid');
      const anon = await fx.connect();
      expect((await anon.fails('login', { user: { username: 'alice' }, password: 'pw-alice' })).error).to.equal('totp-required');
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
