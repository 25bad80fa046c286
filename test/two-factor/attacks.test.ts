/**
 * The security bar (SPEC §3): each known weakness of Rocket.Chat's guard, attempted over real
 * sockets and refused.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mailsDelivered, passwordAnswer, passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from './fixture.js';

const BASE = 60_000;

/** RFC 4648 base32 to bytes. */
function base32Bytes(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

describe('two-factor: attacks', () => {
  let fx: Fixture;

  beforeEach(async () => {
    fx = await startFixture({ trustedClientMs: 0, maxFailedAttempts: 3, passwordMaxFailures: 3, lockoutBaseMs: BASE });
  });
  afterEach(stopFixtures);

  it('(1) a TOTP code is accepted once: the same code twice is refused', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    const code = fx.nextTotp(secret);
    expect(await client.ok('app.echo', totpAnswer(code))).to.deep.equal({ count: 0, args: [] });
    const replay = await client.fails('app.echo', totpAnswer(code));
    expect(replay.error).to.equal('totp-invalid');
  });

  it('(1) a code from an earlier step is refused once a later one was used, across two connections', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    const other = (await fx.loginWithTotp('alice', secret)).client;
    fx.clock.advance(30_000);
    const earlier = fx.totpNow(secret);
    const later = fx.nextTotp(secret);
    // Both are inside the ±1 step window now.
    expect(await client.ok('app.echo', totpAnswer(later))).to.deep.equal({ count: 0, args: [] });
    expect((await other.fails('app.echo', totpAnswer(later))).error).to.equal('totp-invalid');
    expect((await client.fails('app.echo', totpAnswer(earlier))).error).to.equal('totp-invalid');
    const audit = await fx.services.store.audit.list({ userId: (await fx.services.store.users.findByUsername('alice'))!.id });
    expect(audit.filter((a) => a.action === '2fa.replay-rejected')).to.have.length(2);
  });

  it('(2) brute force: locked after maxFailedAttempts, the right code refused while locked, then the lock-out doubles', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    fx.clock.advance(30_000);
    for (let i = 0; i < 2; i++) expect((await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)))).error).to.equal('totp-invalid');
    const locked = await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    expect(locked.error).to.equal('totp-max-attempts');
    expect(locked.details.lockedFor).to.equal(BASE);
    // The right code, while locked.
    const refused = await client.fails('app.echo', totpAnswer(fx.totpNow(secret)));
    expect(refused.error).to.equal('totp-max-attempts');
    expect(refused.details.lockedFor).to.equal(BASE);
    // Without a code the client learns it is locked (and nothing else happens).
    expect((await client.fails('app.echo')).error).to.equal('totp-max-attempts');
    fx.clock.advance(BASE - 1);
    const almost = await client.fails('app.echo', totpAnswer(fx.totpNow(secret)));
    expect(almost.details.lockedFor).to.equal(1);
    fx.clock.advance(1);
    // Lock over: the failures are not forgiven yet, so the next wrong code locks again, twice as long.
    const second = await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    expect(second.error).to.equal('totp-max-attempts');
    expect(second.details.lockedFor).to.equal(2 * BASE);
    fx.clock.advance(2 * BASE - 1);
    expect((await client.fails('app.echo', totpAnswer(fx.totpNow(secret)))).error).to.equal('totp-max-attempts');
    fx.clock.advance(1);
    expect(await client.ok('app.echo', 'in', totpAnswer(fx.totpNow(secret)))).to.deep.equal({ count: 1, args: ['in'] });
  });

  it('(2) parallel guesses on many connections: no more than maxFailedAttempts are verified per lock-out', async () => {
    // The password fallback is verified off-thread (bcrypt workers): unless one user's checks
    // run one at a time, all ten guesses are verified before the first failure is counted.
    await fx.user('bob');
    const { token } = await fx.login('bob');
    const sockets = await Promise.all(Array.from({ length: 10 }, async () => {
      const c = await fx.connect();
      await c.ok('login', { resume: token });
      return c;
    }));
    const outcomes = await Promise.all(sockets.map((c, i) => c.call('app.echo', { twoFactorCode: i.toString(16).repeat(64), twoFactorMethod: 'password' })));
    const errors = outcomes.map((o) => o.msg.error.error as string);
    expect(errors.filter((e) => e === 'totp-invalid')).to.have.length(2);
    expect(errors.filter((e) => e === 'totp-max-attempts')).to.have.length(8);
    expect((await sockets[0]!.fails('app.echo', passwordAnswer('bob'))).details.lockedFor).to.equal(BASE);
  });

  it('(2) after lockoutBaseMs the right code works', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    fx.clock.advance(30_000);
    for (let i = 0; i < 3; i++) await client.fails('app.echo', totpAnswer(fx.wrongTotp(secret)));
    fx.clock.advance(BASE);
    expect(await client.ok('app.echo', totpAnswer(fx.totpNow(secret)))).to.deep.equal({ count: 0, args: [] });
  });

  it('(2) backup codes and the password fallback count failures too', async () => {
    await fx.user('bob');
    const bob = (await fx.login('bob')).client;
    for (let i = 0; i < 2; i++) expect((await bob.fails('app.echo', { twoFactorCode: 'f'.repeat(64), twoFactorMethod: 'password' })).error).to.equal('totp-invalid');
    expect((await bob.fails('app.echo', { twoFactorCode: 'f'.repeat(64), twoFactorMethod: 'password' })).error).to.equal('totp-max-attempts');
    expect((await bob.fails('app.echo', passwordAnswer('bob'))).error).to.equal('totp-max-attempts');

    await fx.user('carol');
    const carol = (await fx.login('carol')).client;
    const { codes } = await fx.enrolTotp(carol);
    for (let i = 0; i < 2; i++) expect((await carol.fails('app.echo', totpAnswer('zzzzzzzzzz'))).error).to.equal('totp-invalid');
    expect((await carol.fails('app.echo', totpAnswer('zzzzzzzzzz'))).error).to.equal('totp-max-attempts');
    expect((await carol.fails('app.echo', totpAnswer(codes[0]!))).error).to.equal('totp-max-attempts');
  });

  it('(3) requesting a new email code does not reset the failure count', async () => {
    const alice = await fx.user('alice');
    const { client } = await fx.login('alice');
    await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
    await client.fails('app.echo');
    const first = await fx.emailCode('alice@example.com');
    const wrong = first === '000000' ? '111111' : '000000';
    for (let i = 0; i < 2; i++) expect((await client.fails('app.echo', { twoFactorCode: wrong, twoFactorMethod: 'email' })).error).to.equal('totp-invalid');
    const anon = await fx.connect();
    fx.clock.advance(60_000); // past the one-mail-a-minute cooldown
    await anon.ok('2fa:sendEmailCode', { emailOrUsername: 'alice' });
    const fresh = await fx.emailCode('alice@example.com', 2);
    const otherWrong = fresh === wrong ? '222222' : wrong;
    const locked = await client.fails('app.echo', { twoFactorCode: otherWrong, twoFactorMethod: 'email' });
    expect(locked.error).to.equal('totp-max-attempts');
    expect(locked.details).to.include({ method: 'email', lockedFor: BASE });
    // The fresh code is refused during the lock-out, and no new mail is sent while locked.
    expect((await client.fails('app.echo', { twoFactorCode: fresh, twoFactorMethod: 'email' })).error).to.equal('totp-max-attempts');
    await anon.ok('2fa:sendEmailCode', { emailOrUsername: 'alice' });
    await mailsDelivered(fx, anon);
    expect(fx.mailsTo('alice@example.com')).to.have.length(2);
  });

  it('(4) two concurrent uses of one backup code on two connections: exactly one wins', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret, codes } = await fx.enrolTotp(client);
    const other = (await fx.loginWithTotp('alice', secret)).client;
    const code = codes[3]!;
    const outcomes = await Promise.all([client.call('app.echo', 'a', totpAnswer(code)), other.call('app.echo', 'b', totpAnswer(code))]);
    const wins = outcomes.filter((o) => o.msg.error === undefined);
    const losses = outcomes.filter((o) => o.msg.error !== undefined);
    expect(wins).to.have.length(1);
    expect(losses).to.have.length(1);
    expect(losses[0]!.msg.error.error).to.equal('totp-invalid');
    expect((await client.ok('2fa:checkCodesRemaining'))).to.deep.equal({ remaining: 11 });
  });

  it('(5) naming email for a user without email 2FA sends nothing and verifies nothing', async () => {
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    const userId = (await fx.services.store.users.findByUsername('alice'))!.id;
    const code = fx.nextTotp(secret);
    const named = await client.fails('app.echo', { twoFactorCode: code, twoFactorMethod: 'email' });
    expect(named.error).to.equal('totp-invalid');
    expect(named.details).to.deep.equal({ method: 'totp', codeGenerated: false, availableMethods: ['totp'] });
    const empty = await client.fails('app.echo', { twoFactorCode: '', twoFactorMethod: 'email' });
    expect(empty.details).to.deep.equal({ method: 'totp', codeGenerated: false, availableMethods: ['totp'] });
    const anon = await fx.connect();
    await anon.ok('2fa:sendEmailCode', { emailOrUsername: 'alice@example.com' });
    const login = await anon.fails('login', { totp: { login: passwordLogin('alice'), code: '', method: 'email' } });
    expect(login.details.method).to.equal('totp');
    await mailsDelivered(fx, anon);
    expect(fx.sink.messages.filter((m) => m.to.includes('alice@example.com'))).to.have.length(0);
    expect(await fx.services.store.codes.findActive(userId, 'email-2fa', new Date(fx.clock.now()))).to.equal(null);
    // The TOTP code sent as "email" was not verified: it is still unused.
    expect(await client.ok('app.echo', totpAnswer(code))).to.deep.equal({ count: 0, args: [] });
    // Nor may a user without any factor pick email.
    await fx.user('bob');
    const bob = (await fx.login('bob')).client;
    const bobNamed = await bob.fails('app.echo', { twoFactorCode: '123456', twoFactorMethod: 'email' });
    expect(bobNamed.error).to.equal('totp-invalid');
    expect(bobNamed.details.method).to.equal('password');
    await mailsDelivered(fx, bob);
    expect(fx.sink.messages.filter((m) => !m.to.some((a) => a.startsWith('control')))).to.have.length(0);
  });

  it('(6) the SQLite file holds no TOTP secret, backup code or email code in clear', async () => {
    await stopFixtures();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-2fa-'));
    try {
      const file = path.join(dir, 'guard.sqlite');
      fx = await startFixture({ db: file, trustedClientMs: 0 });
      const alice = await fx.user('alice');
      const { client } = await fx.login('alice');
      const { secret, codes } = await fx.enrolTotp(client);
      // Regenerated codes are hashed too.
      const { codes: regenerated } = (await client.ok('2fa:regenerateCodes', fx.nextTotp(secret))) as { codes: string[] };
      await fx.services.store.twoFactor.setEmailEnabled(alice.id, true);
      await client.fails('app.echo', { twoFactorCode: '', twoFactorMethod: 'email' });
      const emailCode = await fx.emailCode('alice@example.com');
      expect(await fx.services.store.codes.findActive(alice.id, 'email-2fa', new Date(fx.clock.now()))).not.to.equal(null);
      await stopFixtures();
      const files = ['', '-wal', '-shm', '-journal'].map((s) => file + s).filter((f) => existsSync(f));
      expect(files).to.include(file);
      const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
      expect(bytes.length).to.be.greaterThan(4096);
      const haystack = bytes.toString('latin1');
      expect(haystack).to.include('alice');
      for (const needle of [secret, secret.toLowerCase(), ...codes, ...regenerated, emailCode]) {
        expect(haystack.includes(needle), `found ${needle} in the database`).to.equal(false);
      }
      expect(bytes.includes(base32Bytes(secret)), 'raw secret bytes in the database').to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('(8) the password fallback is never used for login', async () => {
    await fx.user('bob');
    const bobClient = await fx.connect();
    // No factor: login asks for nothing more than the password.
    expect(await bobClient.ok('login', passwordLogin('bob'))).to.include({ type: 'password' });
    await fx.user('alice');
    const { client } = await fx.login('alice');
    const { secret } = await fx.enrolTotp(client);
    const anon = await fx.connect();
    const asked = await anon.fails('login', passwordLogin('alice'));
    expect(asked.details.method).to.equal('totp');
    expect(asked.details.availableMethods).to.deep.equal(['totp']);
    // Answering with the password digest as a "password" factor does not log in.
    const answer = passwordAnswer('alice');
    const refused = await anon.fails('login', { totp: { login: passwordLogin('alice'), code: answer.twoFactorCode, method: 'password' } });
    expect(refused.error).to.equal('totp-invalid');
    expect(refused.details.method).to.equal('totp');
    expect((await anon.fails('app.echo')).error).to.equal(401);
    expect(await anon.ok('login', { totp: { login: passwordLogin('alice'), code: fx.nextTotp(secret) } })).to.include({ type: 'password' });
  });
});
