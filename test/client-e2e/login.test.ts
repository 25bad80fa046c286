/**
 * The client's logins against a real ddp-guard server: password (sent as its sha-256 digest),
 * the resume token on another client, and a personal access token created through
 * `client.account` (itself guarded: the password fallback answers it).
 */
import { expect } from 'chai';
import { DdpError, type TwoFactorChallenge } from '../../client/node.js';
import type { GuardServer } from '../../server/index.js';
import {
  ManualClock,
  PASSWORD,
  PASSWORD_DIGEST,
  T0,
  addUser,
  cleanup,
  connectClient,
  recordingWebSocket,
  rejection,
  sentCalls,
  startGuardServer,
  waitUntil,
  within,
} from './support.js';

interface UserDoc {
  username: string;
  emails: { address: string; verified: boolean }[];
  twoFactor: { totp: boolean; email: boolean };
  [key: string]: unknown;
}

function setup(server: GuardServer): void {
  server.methods({
    whoami() {
      return this.userId;
    },
    guarded: { twoFactor: true, handler: (x: unknown) => ({ ok: x }) },
  });
}

describe('client e2e: logins', () => {
  let clock: ManualClock;
  let server: GuardServer;
  let aliceId: string;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    server = await startGuardServer({ clock, setup });
    aliceId = (await addUser(server, 'alice', { address: 'alice@example.com', verified: true })).id;
  });

  afterEach(cleanup);

  it('logs in with a password sent only as its sha-256 digest, and receives its users document', async () => {
    const sent: string[] = [];
    const client = await connectClient(server, { WebSocket: recordingWebSocket(sent) });
    const logins: string[] = [];
    client.on('login', (r) => logins.push(r.id));

    const result = await within(client.loginWithPassword('alice', PASSWORD), 5_000, 'login');
    expect(result.id).to.equal(aliceId);
    expect(result.type).to.equal('password');
    expect(result.token).to.be.a('string').with.length.greaterThan(30);
    expect(result.tokenExpires).to.be.instanceOf(Date);
    // The server's clock decides the expiry: 90 days after its "now".
    expect(result.tokenExpires!.getTime()).to.equal(T0 + 90 * 24 * 3600 * 1000);
    expect(client.userId).to.equal(aliceId);
    expect(logins).to.deep.equal([aliceId]);

    // The wire: the digest, never the password.
    const calls = sentCalls(sent, 'login');
    expect(calls).to.have.length(1);
    expect(calls[0]!.params).to.deep.equal([{ user: { username: 'alice' }, password: { digest: PASSWORD_DIGEST, algorithm: 'sha-256' } }]);
    expect(sent.join('\n')).not.to.include(PASSWORD);

    const users = client.collection<UserDoc>('users');
    await waitUntil(() => users.has(aliceId), 'the users document');
    const doc = users.get(aliceId)!;
    expect(doc.username).to.equal('alice');
    expect(doc.emails).to.deep.equal([{ address: 'alice@example.com', verified: true }]);
    expect(doc.twoFactor).to.deep.equal({ totp: false, email: false });
    expect(doc).not.to.have.any.keys('password', 'passwordHash');
    // Rocket.Chat's names for the sign-in methods, without Meteor's secrets (no bcrypt, no resume tokens).
    expect(doc.services).to.deep.equal({ password: { exists: true } });

    // The server agrees on who this connection is.
    expect(await within(client.call('whoami'), 5_000, 'whoami')).to.equal(aliceId);
  });

  it('logs in by email, and refuses a wrong password with 403 and no login', async () => {
    const client = await connectClient(server);
    const error = await rejection(client.loginWithPassword('alice@example.com', 'wrong password'), 'a wrong password');
    expect(error).to.be.instanceOf(DdpError);
    expect((error as DdpError).error).to.equal(403);
    expect(client.userId).to.equal(undefined);
    expect(await within(client.call('whoami'), 5_000, 'whoami')).to.equal(null);

    const result = await within(client.loginWithPassword('alice@example.com', PASSWORD), 5_000, 'login by email');
    expect(result.id).to.equal(aliceId);
  });

  it('resumes the session on a second client with the resume token', async () => {
    const first = await connectClient(server);
    const { token } = await within(first.loginWithPassword('alice', PASSWORD), 5_000, 'login');

    const second = await connectClient(server);
    expect(second.userId).to.equal(undefined);
    const resumed = await within(second.loginWithToken(token), 5_000, 'resume');
    expect(resumed.id).to.equal(aliceId);
    expect(resumed.type).to.equal('resume');
    expect(resumed.token).to.equal(token);
    expect(second.userId).to.equal(aliceId);
    expect(await within(second.call('whoami'), 5_000, 'whoami')).to.equal(aliceId);
    await waitUntil(() => second.collection('users').has(aliceId), 'the users document on the second client');

    // A token the server never issued is refused and leaves the client logged out.
    const third = await connectClient(server);
    const error = await rejection(third.loginWithToken('not-a-token'), 'a bogus resume token');
    expect((error as DdpError).error).to.equal(403);
    expect(third.userId).to.equal(undefined);
  });

  it('creates a personal access token (password fallback) and logs in with it', async () => {
    const challenges: TwoFactorChallenge[] = [];
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return { code: PASSWORD_DIGEST, method: 'password' };
      },
    });
    await within(client.loginWithPassword('alice', PASSWORD), 5_000, 'login');

    const token = await within(client.account.createAccessToken('ci-bot'), 5_000, 'createAccessToken');
    expect(token).to.be.a('string').with.length.greaterThan(30);
    // Creating a token is guarded: the user has no second factor, so the password is asked for.
    expect(challenges).to.have.length(1);
    expect(challenges[0]!.method).to.equal('personalAccessTokens:generateToken');
    expect(challenges[0]!.details.method).to.equal('password');
    expect(challenges[0]!.details.availableMethods).to.deep.equal([]);
    expect(challenges[0]!.isRetryAfterInvalid).to.equal(false);

    const listed = await within(client.account.listAccessTokens(), 5_000, 'listAccessTokens');
    expect(listed.map((t) => t.name)).to.deep.equal(['ci-bot']);
    expect(JSON.stringify(listed)).not.to.include(token);

    const bot = await connectClient(server);
    const result = await within(bot.loginWithToken(token), 5_000, 'login with the personal token');
    expect(result.id).to.equal(aliceId);
    expect(bot.userId).to.equal(aliceId);
    expect(await within(bot.call('whoami'), 5_000, 'whoami')).to.equal(aliceId);
    await waitUntil(() => bot.collection('users').has(aliceId), 'the users document for the token session');

    // Revoked (guarded again): the token no longer logs in.
    await within(client.account.removeAccessToken('ci-bot'), 5_000, 'removeAccessToken');
    expect(challenges).to.have.length(2);
    const late = await connectClient(server);
    const error = await rejection(late.loginWithToken(token), 'a revoked personal token');
    expect((error as DdpError).error).to.equal(403);
  });

  it('a wrong password answer to the fallback is totp-invalid, then the right one passes', async () => {
    const asked: boolean[] = [];
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        asked.push(challenge.isRetryAfterInvalid);
        return { code: asked.length === 1 ? 'f'.repeat(64) : PASSWORD_DIGEST, method: 'password' };
      },
    });
    await within(client.loginWithPassword('alice', PASSWORD), 5_000, 'login');
    expect(await within(client.call('guarded', 7), 5_000, 'guarded call')).to.deep.equal({ ok: 7 });
    expect(asked).to.deep.equal([false, true]);
  });

  it('a token created with bypassTwoFactor skips the guard on its session', async () => {
    const asked: TwoFactorChallenge[] = [];
    const owner = await connectClient(server, { onTwoFactorRequired: () => ({ code: PASSWORD_DIGEST, method: 'password' }) });
    await within(owner.loginWithPassword('alice', PASSWORD), 5_000, 'login');
    const token = await within(owner.account.createAccessToken('bypass', { bypassTwoFactor: true }), 5_000, 'createAccessToken');

    const bot = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        asked.push(challenge);
        return null;
      },
    });
    await within(bot.loginWithToken(token), 5_000, 'login with the token');
    expect(await within(bot.call('guarded', 'x'), 5_000, 'guarded call')).to.deep.equal({ ok: 'x' });
    expect(asked).to.have.length(0);
  });
});
