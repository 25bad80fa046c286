/**
 * Guessing a password is bounded per account and per address, not per connection: parallel
 * connections and HTTP requests share one budget (login, changePassword and the guard's
 * password fallback alike); a locked account refuses even the right password, with Rocket.Chat's
 * errors; strangers guessing cannot lock the owner out where the owner signs in; and the owner
 * is told by mail.
 */
import { expect } from 'chai';
import { sha256Hex } from '../../server/security/crypto.js';
import { passwordLogin, passwordOf, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { Msg } from '../two-factor/client.js';

const BLOCKED_USER = 'error-login-blocked-for-user';
const BLOCKED_IP = 'error-login-blocked-for-ip';
const STRANGER = { forwardedFor: '198.51.100.7' };
const HOME = { forwardedFor: '192.0.2.10' };

function wrongLogin(name: string, i: number): Msg {
  return { user: { username: name }, password: { digest: sha256Hex(`guess ${i}`), algorithm: 'sha-256' } };
}

describe('accounts: password guessing is bounded per account and per address', function () {
  this.timeout(30_000);
  let fx: Fixture;

  beforeEach(async () => {
    fx = await startFixture({ httpForwardedCount: 1 });
  });
  afterEach(stopFixtures);

  it('twelve parallel connections get 10 wrong passwords checked, then the account is blocked, even for the right one', async () => {
    await fx.user('alice');
    const sockets = await Promise.all(Array.from({ length: 12 }, () => fx.connect(STRANGER)));
    const outcomes = await Promise.all(sockets.flatMap((c, i) => [0, 1, 2, 3, 4].map((j) => c.call('login', wrongLogin('alice', i * 10 + j)))));
    const errors = outcomes.map((o) => (o.msg.error as Msg).error);
    // Nine wrong ones answered as wrong; the tenth locks (60 s, the first lock-out); the other 50
    // are refused before any comparison.
    expect(errors.filter((e) => e === 403)).to.have.length(9);
    expect(errors.filter((e) => e === BLOCKED_USER)).to.have.length(51);
    const blocked = await sockets[0]!.fails('login', passwordLogin('alice'));
    expect(blocked).to.deep.include({ error: BLOCKED_USER, reason: 'Login has been temporarily blocked For User' });
    expect(blocked.details).to.deep.equal({ function: 'Accounts.validateLoginAttempt', timeToReset: 60_000 });
    // Over HTTP, from anywhere new, the same budget.
    const http = await fetch(fx.url.replace(/^ws/, 'http').replace(/\/websocket$/, '/api/v1/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.99' },
      body: JSON.stringify({ user: 'alice', password: passwordOf('alice') }),
    });
    expect(http.status).to.equal(401);
    expect(JSON.stringify(await http.json())).to.include(BLOCKED_USER);
    // When the lock-out ends, the right password works; the next wrong one from a new address
    // locks again, twice as long: the owner's success forgave nothing.
    fx.clock.advance(60_000);
    expect(((await sockets[1]!.ok('login', passwordLogin('alice'))) as Msg).type).to.equal('password');
    const again = await (await fx.connect({ forwardedFor: '198.51.100.8' })).fails('login', wrongLogin('alice', 999));
    expect(again.error).to.equal(BLOCKED_USER);
    expect(again.details.timeToReset).to.equal(120_000);
  });

  it('strangers guessing do not lock the owner out where the owner signs in; they are told by mail', async () => {
    await fx.user('olive');
    // The owner signs in at home: that address is known from now on.
    const home = await fx.connect(HOME);
    await home.ok('login', passwordLogin('olive'));
    const stranger = await fx.connect(STRANGER);
    for (let i = 0; i < 10; i++) await stranger.call('login', wrongLogin('olive', i));
    expect((await stranger.fails('login', passwordLogin('olive'))).error).to.equal(BLOCKED_USER);
    // At home, nothing changed.
    const later = await fx.connect(HOME);
    expect(((await later.ok('login', passwordLogin('olive'))) as Msg).type).to.equal('password');
    const mail = await fx.sink.waitFor((m) => m.to.includes('olive@example.com') && /locked/i.test(m.subject));
    expect(mail.text).to.match(/change your password/i);
    expect(mail.text).to.not.match(/\b\d{6}\b/);
    const audit = await fx.services.store.audit.list({ userId: (await fx.services.store.users.findByUsername('olive'))!.id });
    expect(audit.map((a) => a.action)).to.include.members(['password.locked-out', 'account.lock-notified']);
  });

  it('one address guessing at many accounts is blocked for every account', async () => {
    await fx.server.close();
    fx = await startFixture({ httpForwardedCount: 1, addressMaxFailures: 15 });
    for (const name of ['u1', 'u2', 'u3']) await fx.user(name);
    const bot = await fx.connect(STRANGER);
    const seen: unknown[] = [];
    for (let i = 0; i < 15; i++) seen.push(((await bot.call('login', wrongLogin(`u${(i % 3) + 1}`, i))).msg.error as Msg).error);
    expect(seen.slice(0, 14).every((e) => e === 403)).to.equal(true);
    expect(seen[14]).to.equal(BLOCKED_IP);
    const refused = await bot.fails('login', passwordLogin('u1'));
    expect(refused).to.deep.include({ error: BLOCKED_IP, reason: 'Login has been temporarily blocked For IP' });
    // Another address is not concerned.
    expect(((await (await fx.connect(HOME)).ok('login', passwordLogin('u1'))) as Msg).type).to.equal('password');
  });

  it('changePassword shares the account’s budget: wrong old passwords lock it, then even the right one is refused', async () => {
    await fx.user('paul');
    const { client } = await fx.login('paul', STRANGER);
    const change = (old: string): Promise<{ msg: Msg }> =>
      client.call('changePassword', { digest: sha256Hex(old), algorithm: 'sha-256' }, 'a brand new password');
    // Signed in from here, this is a known address: its own counter, 10 wrong before a lock-out.
    for (let i = 0; i < 9; i++) expect(((await change(`nope ${i}`)).msg.error as Msg).reason).to.equal('Incorrect password');
    expect(((await change('nope 9')).msg.error as Msg).error).to.equal(BLOCKED_USER);
    expect(((await change(passwordOf('paul'))).msg.error as Msg).error).to.equal(BLOCKED_USER);
    // Login from the same address waits too; the password was never changed.
    expect((await (await fx.connect(STRANGER)).fails('login', passwordLogin('paul'))).error).to.equal(BLOCKED_USER);
    fx.clock.advance(60_000);
    expect(((await change(passwordOf('paul'))).msg.result as Msg)).to.deep.equal({ passwordChanged: true });
  });

  it('the password fallback of the guard counts on the same budget as login', async () => {
    await fx.user('rita');
    const { client } = await fx.login('rita', STRANGER);
    const fallback = (digest: string): Promise<{ msg: Msg }> => client.call('app.echo', { twoFactorCode: digest, twoFactorMethod: 'password' });
    for (let i = 0; i < 5; i++) await fallback(sha256Hex(`nope ${i}`));
    for (let i = 5; i < 9; i++) expect(((await client.call('changePassword', { digest: sha256Hex(`nope ${i}`), algorithm: 'sha-256' }, 'a brand new password')).msg.error as Msg).reason).to.equal('Incorrect password');
    const locked = await fallback(sha256Hex('nope 9'));
    expect((locked.msg.error as Msg).error).to.equal('totp-max-attempts');
    expect((await (await fx.connect(STRANGER)).fails('login', passwordLogin('rita'))).error).to.equal(BLOCKED_USER);
  });
});
