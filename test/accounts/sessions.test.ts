/**
 * The account page's server side (issue 24): `sessions:list`, `sessions:logout.me`,
 * `removeOtherTokens` and `securityLog:list`, over real sockets, seen by the owner and by an
 * attacker who holds a stolen session token (or a bypass personal token) but not the factor.
 */
import { expect } from 'chai';
import { hashToken } from '../../server/accounts/tokens.js';
import { sessionIdOf } from '../../server/accounts/sessions.js';
import { summariseUserAgent } from '../../server/accounts/user-agent.js';
import { passwordAnswer, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';

const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

interface Listed {
  sessionId: string;
  loginAt: Date;
  lastUsedAt: Date | null;
  ip: string | null;
  userAgent: string | null;
  device: { browser: string; os: string };
  current: boolean;
}

describe('account page, server side: sessions and the security log', function () {
  this.timeout(30_000);
  let fx: Fixture;
  beforeEach(async () => {
    // One trusted proxy, so each client can say where it is (X-Forwarded-For).
    fx = await startFixture({ httpForwardedCount: 1 });
  });
  afterEach(stopFixtures);

  /** Alice with an authenticator app, signed in from Firefox (the code trusts the client). */
  async function aliceWithTotp(): Promise<{ client: TestClient; token: string; secret: string; codes: string[] }> {
    await fx.user('alice');
    const setup = await fx.login('alice');
    const { secret, codes } = await fx.enrolTotp(setup.client);
    setup.client.close();
    await fx.server.services.get().then((s) => s.store.loginTokens.remove(hashToken(setup.token)));
    const { client, token } = await fx.loginWithTotp('alice', secret, { userAgent: FIREFOX, forwardedFor: '198.51.100.7' });
    return { client, token, secret, codes };
  }

  it('lists only the caller\'s own sessions: when, where from, browser and OS, this one marked; never a token or its hash', async () => {
    const { client, token, secret } = await aliceWithTotp();
    const phone = await fx.loginWithTotp('alice', secret, { userAgent: SAFARI_IOS, forwardedFor: '203.0.113.5' });
    await fx.user('bob');
    const bob = await fx.login('bob', { userAgent: FIREFOX, forwardedFor: '192.0.2.99' });
    fx.clock.advance(60_000);
    // A resume is a use: its time and place are recorded.
    const again = await fx.connect({ userAgent: SAFARI_IOS, forwardedFor: '203.0.113.6' });
    await again.ok('login', { resume: phone.token });

    const { msg, text } = await client.call('sessions:list');
    expect(msg.error, JSON.stringify(msg.error)).to.equal(undefined);
    const sessions = msg.result.sessions as Listed[];
    expect(sessions).to.have.length(2);
    const [mine, other] = sessions;
    expect(mine).to.deep.include({ current: true, ip: '198.51.100.7', userAgent: FIREFOX, device: { browser: 'Firefox', os: 'Windows' }, sessionId: sessionIdOf(hashToken(token)) });
    expect(other).to.deep.include({ current: false, ip: '203.0.113.6', device: { browser: 'Safari', os: 'iOS' } });
    expect(other!.lastUsedAt!.getTime()).to.equal(fx.clock.now());
    expect(other!.loginAt.getTime()).to.be.below(fx.clock.now());
    for (const secretText of [token, phone.token, hashToken(token), hashToken(phone.token), bob.token, '192.0.2.99']) expect(text).to.not.include(secretText);
    expect(Object.keys(mine!).sort()).to.deep.equal(['current', 'device', 'expiresAt', 'ip', 'lastUsedAt', 'loginAt', 'sessionId', 'userAgent']);
  });

  it('signs one session out with the second factor: its connections close at once and its token is dead; the others stay', async () => {
    const { client, secret } = await aliceWithTotp();
    const phone = await fx.loginWithTotp('alice', secret, { userAgent: SAFARI_IOS });
    const tablet = await fx.loginWithTotp('alice', secret, { userAgent: SAFARI_IOS });
    const phoneAgain = await fx.connect();
    await phoneAgain.ok('login', { resume: phone.token });
    const phoneId = sessionIdOf(hashToken(phone.token));

    // Even a client trusted a moment ago gives the code: signing out is an account change.
    const asked = await client.fails('sessions:logout.me', { sessionId: phoneId });
    expect(asked).to.include({ error: 'totp-required' });
    expect(await client.ok('sessions:logout.me', { sessionId: phoneId }, totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ sessionId: phoneId });
    expect(await phone.client.closed).to.equal(1000);
    expect(await phoneAgain.closed).to.equal(1000);
    expect((await (await fx.connect()).fails('login', { resume: phone.token })).error).to.equal(403);
    expect(tablet.client.isClosed).to.equal(false);
    expect(await tablet.client.ok('app.open')).to.equal('open');

    // Gone, unknown and another user's: the same answer.
    expect(await client.fails('sessions:logout.me', { sessionId: phoneId }, totpAnswer(fx.nextTotp(secret)))).to.include({ error: 'error-session-not-found', reason: 'Session not found' });
    await fx.user('bob');
    const bob = await fx.login('bob');
    const bobId = sessionIdOf(hashToken(bob.token));
    expect(await client.fails('sessions:logout.me', { sessionId: bobId }, totpAnswer(fx.nextTotp(secret)))).to.include({ error: 'error-session-not-found' });
    expect(bob.client.isClosed).to.equal(false);
    expect(await bob.client.ok('app.open')).to.equal('open');
  });

  it('a stolen session token without the factor sees no sessions and no log, and signs nobody out; a bypass token may read, never sign out', async () => {
    const { client, token, secret } = await aliceWithTotp();
    const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: true }, totpAnswer(fx.nextTotp(secret)))) as string;
    const owner = sessionIdOf(hashToken(token));
    const reads = [['sessions:list', []], ['securityLog:list', [{ offset: 0, count: 20 }]]] as const;
    const changes = [['sessions:logout.me', [{ sessionId: owner }]], ['removeOtherTokens', []]] as const;
    // The thief uses the owner's very token from elsewhere: the owner's trust mark does not follow it.
    const thief = await fx.connect({ userAgent: 'curl/8.5.0', forwardedFor: '192.0.2.66' });
    await thief.ok('login', { resume: token });
    for (const [method, params] of [...reads, ...changes]) {
      expect((await thief.fails(method, ...params)).error, `${method} with a stolen session`).to.equal('totp-required');
    }
    const guessed = await thief.fails('sessions:logout.me', { sessionId: owner }, totpAnswer(fx.wrongTotp(secret)));
    expect(guessed.error).to.equal('totp-invalid');
    // A personal token made to skip the checks reads like any guarded method; it cannot sign anyone out.
    const bot = await fx.connect({ userAgent: 'curl/8.5.0', forwardedFor: '192.0.2.66' });
    await bot.ok('login', { resume: pat });
    expect(((await bot.ok('sessions:list')) as { sessions: Listed[] }).sessions.map((s) => s.current)).to.deep.equal([false]);
    for (const [method, params] of changes) expect((await bot.fails(method, ...params)).error, `${method} with a bypass token`).to.equal('totp-required');
    expect(client.isClosed).to.equal(false);
    expect(await client.ok('app.open')).to.equal('open');
  });

  it('removeOtherTokens: the code for a user with a factor (audited); without one it passes as Meteor\'s logoutOtherClients expects', async () => {
    const { client, secret } = await aliceWithTotp();
    const other = await fx.loginWithTotp('alice', secret);
    expect((await client.fails('removeOtherTokens')).error).to.equal('totp-required');
    expect(other.client.isClosed).to.equal(false);
    expect(await client.ok('removeOtherTokens', totpAnswer(fx.nextTotp(secret)))).to.equal(undefined);
    expect(await other.client.closed).to.equal(1000);
    const services = await fx.server.services.get();
    const alice = (await services.store.users.findByUsername('alice'))!;
    const entries = await services.store.audit.list({ userId: alice.id, newestFirst: true, limit: 1 });
    expect(entries[0]).to.deep.include({ action: 'sessions.revoked-others', details: { count: 1 } });

    await fx.user('carl');
    const carl = await fx.login('carl');
    const carl2 = await fx.login('carl');
    expect(await carl.client.ok('removeOtherTokens')).to.equal(undefined);
    expect(await carl2.client.closed).to.equal(1000);
    // Listing, for a user without a factor, proves the password.
    expect((await carl.client.fails('sessions:list')).details).to.include({ method: 'password' });
    const listed = (await carl.client.ok('sessions:list', passwordAnswer('carl'))) as { sessions: Listed[] };
    expect(listed.sessions.map((s) => s.current)).to.deep.equal([true]);
  });

  it('the security log: the user\'s own entries, newest first, paged; sign-ins with where from, wrong and locked codes, factor, token and password changes; no code or token', async () => {
    const { client, token, secret, codes } = await aliceWithTotp();
    await fx.user('bob');
    await fx.login('bob');
    const used: string[] = [token, ...codes];
    // A wrong code at sign-in from elsewhere, then enough to lock the app.
    const stranger = await fx.connect({ userAgent: 'curl/8.5.0', forwardedFor: '192.0.2.66' });
    for (let i = 0; i < 5; i++) {
      const wrong = fx.wrongTotp(secret);
      used.push(wrong);
      await stranger.call('login', { totp: { login: { user: { username: 'alice' }, password: { digest: passwordAnswer('alice').twoFactorCode, algorithm: 'sha-256' } }, code: wrong } });
    }
    fx.clock.advance(10 * 60_000);
    const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci' }, totpAnswer(fx.nextTotp(secret)))) as string;
    used.push(pat);
    const changed = fx.nextTotp(secret);
    used.push(changed);
    await client.ok('changePassword', { digest: passwordAnswer('alice').twoFactorCode, algorithm: 'sha-256' }, 'a much better passphrase', totpAnswer(changed));

    const code = fx.nextTotp(secret);
    used.push(code);
    const first = await client.call('securityLog:list', { offset: 0, count: 4 }, totpAnswer(code));
    expect(first.msg.error, JSON.stringify(first.msg.error)).to.equal(undefined);
    const page1 = first.msg.result as { entries: Msg[]; offset: number; count: number; hasMore: boolean };
    expect(page1).to.include({ offset: 0, count: 4, hasMore: true });
    expect(page1.entries.map((e) => e.action)).to.deep.equal(['password.changed', 'token.created', 'account.lock-notified', '2fa.locked-out']);
    expect(page1.entries[1]!.details).to.deep.equal({ name: 'ci', bypassTwoFactor: false });
    // Paging goes on within the trust the code gave (reading is not a change).
    const all: Msg[] = [...page1.entries];
    let texts = first.text;
    for (let offset = 4; ; offset += 4) {
      const next = await client.call('securityLog:list', { offset, count: 4 });
      expect(next.msg.error).to.equal(undefined);
      texts += next.text;
      all.push(...next.msg.result.entries);
      if (!next.msg.result.hasMore) break;
    }
    const actions = all.map((e) => e.action);
    expect(actions.filter((a) => a === '2fa.failed')).to.have.length(5);
    expect(actions.slice(-4)).to.deep.equal(['user.login', 'totp.enabled', 'totp.enrolment-started', 'user.login']);
    const times = all.map((e) => (e.at as Date).getTime());
    expect([...times].sort((a, b) => b - a)).to.deep.equal(times);
    const failed = all.find((e) => e.action === '2fa.failed')!;
    expect(failed).to.deep.include({ ip: '192.0.2.66', userAgent: 'curl/8.5.0', details: { factor: 'totp' } });
    expect(failed.device).to.deep.equal({ browser: 'curl', os: 'Unknown system' });
    const signIn = all.find((e) => e.action === 'user.login' && e.ip === '198.51.100.7')!;
    expect(signIn.details).to.deep.equal({ via: 'password', twoFactor: true });
    // Only alice's entries; nothing secret anywhere in what was sent.
    const bob = (await (await fx.server.services.get()).store.users.findByUsername('bob'))!;
    expect(texts).to.not.include(bob.id);
    // Six-digit codes as JSON strings (the digits alone occur in dates).
    for (const secretText of used) expect(texts, 'a code or token in the security log').to.not.include(/^\d{6}$/.test(secretText) ? `"${secretText}"` : secretText);
    expect(texts).to.not.include(hashToken(token));

    // Bad paging parameters are a validation error, not a huge read.
    for (const bad of [{ offset: 0, count: 0 }, { offset: 0, count: 101 }, { offset: -1, count: 4 }, { offset: 0, count: 1.5 }, { count: 4 }, {}]) expect((await client.fails('securityLog:list', bad)).error).to.equal(400);
  });

  it('summarises user agents as browser and OS, and a program by its name', () => {
    expect(summariseUserAgent(FIREFOX)).to.deep.equal({ browser: 'Firefox', os: 'Windows' });
    expect(summariseUserAgent(SAFARI_IOS)).to.deep.equal({ browser: 'Safari', os: 'iOS' });
    expect(summariseUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0')).to.deep.equal({ browser: 'Edge', os: 'macOS' });
    expect(summariseUserAgent('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36')).to.deep.equal({ browser: 'Chrome', os: 'Android' });
    expect(summariseUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36')).to.deep.equal({ browser: 'Headless Chrome', os: 'Linux' });
    expect(summariseUserAgent('ddp-guard/0.1.0 node/20')).to.deep.equal({ browser: 'ddp-guard', os: 'Unknown system' });
    expect(summariseUserAgent(null)).to.deep.equal({ browser: 'Unknown client', os: 'Unknown system' });
    expect(summariseUserAgent('\u001b[2J')).to.deep.equal({ browser: 'Unknown client', os: 'Unknown system' });
  });
});
