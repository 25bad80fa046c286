/**
 * TOTP against the real guard: enrolment through `client.account`, the retry loop of a
 * guarded call (right code, wrong then right, cancel, the client's attempt limit, the
 * server's lock-out) and the login of a TOTP user. The server runs on a manual clock and the
 * codes are computed for its time; the clock moves one step between codes so the replay
 * guard never refuses a right one.
 */
import { expect } from 'chai';
import { DdpError, type DdpClient, type TwoFactorAnswer, type TwoFactorChallenge } from '../../client/node.js';
import type { GuardServer, ServerOptions } from '../../server/index.js';
import {
  ManualClock,
  PASSWORD,
  PASSWORD_DIGEST,
  STEP_MS,
  T0,
  addUser,
  cleanup,
  connectClient,
  enrolTotp,
  recordingWebSocket,
  rejection,
  sentCalls,
  startGuardServer,
  totpNow,
  waitUntil,
  within,
  wrongTotp,
} from './support.js';

/** Guarded test methods: the handler only runs once the guard let the call through. */
function setup(runs: unknown[][]): (server: GuardServer) => void {
  return (server) => {
    server.methods({
      whoami() {
        return this.userId;
      },
      transfer: {
        twoFactor: true,
        handler(...params: unknown[]) {
          runs.push(params);
          return { done: true, params };
        },
      },
    });
  };
}

describe('client e2e: TOTP', () => {
  let clock: ManualClock;
  let server: GuardServer;
  let userId: string;
  /** Parameters the guarded handler saw, one entry per run. */
  let runs: unknown[][];
  let challenges: TwoFactorChallenge[];
  /** Answers the next challenge; the default gives the right code. */
  let answer: (challenge: TwoFactorChallenge) => TwoFactorAnswer | null;
  let secret: string;

  async function start(extra: ServerOptions = {}): Promise<void> {
    clock = new ManualClock(T0);
    runs = [];
    server = await startGuardServer({ ...extra, clock, setup: setup(runs) });
    userId = (await addUser(server, 'tina', { address: 'tina@example.com', verified: true })).id;
  }

  /** A logged-in client whose callback records each challenge and answers with `answer`. */
  async function loggedInClient(options: { maxTwoFactorAttempts?: number } = {}): Promise<DdpClient> {
    const client = await connectClient(server, {
      ...options,
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return answer(challenge);
      },
    });
    await within(client.loginWithPassword('tina', PASSWORD), 5_000, 'login');
    return client;
  }

  /** Start a server, log in, enrol TOTP; reset the recorded challenges. */
  async function enrolled(options: { server?: ServerOptions; maxTwoFactorAttempts?: number } = {}): Promise<DdpClient> {
    await start(options.server);
    challenges = [];
    answer = () => ({ code: totpNow(secret, clock) });
    const client = await loggedInClient(options.maxTwoFactorAttempts === undefined ? {} : { maxTwoFactorAttempts: options.maxTwoFactorAttempts });
    ({ secret } = await enrolTotp(client, clock));
    return client;
  }

  afterEach(cleanup);

  it('enrols through client.account: the password asked once, secret, otpauth URL, 12 backup codes, and a wrong first code reaches the caller unasked', async () => {
    await start();
    challenges = [];
    // Adding a factor proves the current one: with none yet, the password, through the callback.
    answer = (challenge) => (challenge.details.method === 'password' ? { code: PASSWORD_DIGEST, method: 'password' } : null);
    const client = await loggedInClient();
    const users = client.collection<{ twoFactor: { totp: boolean; email: boolean } }>('users');
    await waitUntil(() => users.has(userId), 'the users document');
    expect(users.get(userId)!.twoFactor.totp).to.equal(false);

    const enrolment = await within(client.account.enableTotp(), 5_000, 'enableTotp');
    expect(enrolment.secret).to.match(/^[A-Z2-7]{32}$/);
    expect(enrolment.url).to.match(/^otpauth:\/\/totp\//);
    expect(enrolment.url).to.include(`secret=${enrolment.secret}`);

    // A wrong first code does not enrol.
    const error = await rejection(client.account.confirmTotp(wrongTotp(enrolment.secret, clock)), 'confirm with a wrong code');
    expect((error as DdpError).error).to.equal('totp-invalid');

    const codes = await within(client.account.confirmTotp(totpNow(enrolment.secret, clock)), 5_000, 'confirmTotp');
    expect(codes).to.have.length(12);
    expect(new Set(codes).size).to.equal(12);
    expect(await within(client.account.backupCodesRemaining(), 5_000, 'backupCodesRemaining')).to.equal(12);
    // Enabling asked once, for the password; the confirmation (its code is a parameter) not at all.
    expect(challenges.map((c) => [c.method, c.details.method])).to.deep.equal([['2fa:enable', 'password']]);
    // The session that enrolled stays logged in; the server has TOTP on for the user.
    expect(client.userId).to.equal(userId);
    expect(await within(client.call('whoami'), 5_000, 'whoami')).to.equal(userId);
    const { store } = await server.services.get();
    expect((await store.twoFactor.get(userId)).totpEnabled).to.equal(true);
  });

  it('a guarded call asks the callback with the details, retries with the code, and succeeds', async () => {
    const sent: string[] = [];
    await start();
    challenges = [];
    const client = await connectClient(server, {
      WebSocket: recordingWebSocket(sent),
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return { code: totpNow(secret, clock) };
      },
    });
    await within(client.loginWithPassword('tina', PASSWORD), 5_000, 'login');
    ({ secret } = await enrolTotp(client, clock));
    const code = totpNow(secret, clock);

    const result = await within(client.call('transfer', 'acct-1', 0, false), 5_000, 'guarded call');
    expect(result).to.deep.equal({ done: true, params: ['acct-1', 0, false] });
    // The handler never sees the 2FA argument, and ran once.
    expect(runs).to.deep.equal([['acct-1', 0, false]]);
    expect(challenges).to.have.length(1);
    const challenge = challenges[0]!;
    expect(challenge.method).to.equal('transfer');
    expect(challenge.attempt).to.equal(1);
    expect(challenge.isRetryAfterInvalid).to.equal(false);
    expect(challenge.emailCodeSent).to.equal(false);
    expect(challenge.details.method).to.equal('totp');
    expect(challenge.details.codeGenerated).to.equal(false);
    expect(challenge.details.availableMethods).to.deep.equal(['totp']);
    expect(challenge.error.error).to.equal('totp-required');
    expect(challenge.error.reason).to.equal('TOTP Required');
    // On the wire: the plain call, then the same call with the code appended.
    expect(sentCalls(sent, 'transfer').map((c) => c.params)).to.deep.equal([
      ['acct-1', 0, false],
      ['acct-1', 0, false, { twoFactorCode: code, twoFactorMethod: 'totp' }],
    ]);
  });

  it('a wrong code, then the right one: the second ask says the first was invalid', async () => {
    const client = await enrolled();
    answer = (c) => ({ code: c.attempt === 1 ? wrongTotp(secret, clock) : totpNow(secret, clock) });
    const result = await within(client.call('transfer', 'acct-2'), 5_000, 'guarded call');
    expect(result).to.deep.equal({ done: true, params: ['acct-2'] });
    expect(challenges.map((c) => [c.attempt, c.isRetryAfterInvalid, c.error.error])).to.deep.equal([
      [1, false, 'totp-required'],
      [2, true, 'totp-invalid'],
    ]);
    expect(challenges[1]!.details.availableMethods).to.deep.equal(['totp']);
    expect(runs).to.have.length(1);
  });

  it('the same code twice is refused the second time (replay), and the next step passes', async () => {
    const client = await enrolled();
    const code = totpNow(secret, clock);
    answer = () => ({ code });
    await within(client.call('transfer', 1), 5_000, 'first guarded call');
    // Same step, same code: the replay guard says invalid; the callback is asked again.
    let asks = 0;
    answer = () => (++asks === 1 ? { code } : null);
    const error = await rejection(client.call('transfer', 2), 'a replayed code');
    expect((error as DdpError).error).to.equal('two-factor-cancelled');
    expect(challenges.at(-1)!.isRetryAfterInvalid).to.equal(true);
    expect(runs).to.have.length(1);
    clock.advance(STEP_MS);
    answer = () => ({ code: totpNow(secret, clock) });
    expect(await within(client.call('transfer', 3), 5_000, 'next step')).to.deep.equal({ done: true, params: [3] });
  });

  it('a backup code answers a TOTP challenge once', async () => {
    await start();
    challenges = [];
    answer = () => null;
    const client = await loggedInClient();
    const enrolment = await enrolTotp(client, clock);
    const backup = enrolment.backupCodes[0]!;
    answer = () => ({ code: backup });
    expect(await within(client.call('transfer', 'b'), 5_000, 'call with a backup code')).to.deep.equal({ done: true, params: ['b'] });
    expect(await within(client.account.backupCodesRemaining(), 5_000, 'backupCodesRemaining')).to.equal(11);
    const error = await rejection(client.call('transfer', 'c'), 'a spent backup code');
    // Spent: invalid every time, until the client gives up after its default 3 attempts.
    expect((error as DdpError).error).to.equal('totp-invalid');
    expect(runs).to.have.length(1);
  });

  it('cancel: the callback returns null and the call fails with two-factor-cancelled', async () => {
    const client = await enrolled();
    answer = () => null;
    const error = await rejection(client.call('transfer', 'x'), 'a cancelled call');
    expect(error).to.be.instanceOf(DdpError);
    expect((error as DdpError).error).to.equal('two-factor-cancelled');
    expect(challenges).to.have.length(1);
    expect(runs).to.have.length(0);
  });

  it('stops after maxTwoFactorAttempts codes with the last error', async () => {
    const client = await enrolled({ maxTwoFactorAttempts: 2 });
    answer = () => ({ code: wrongTotp(secret, clock) });
    const error = await rejection(client.call('transfer', 'x'), 'a call with only wrong codes');
    expect((error as DdpError).error).to.equal('totp-invalid');
    expect((error as DdpError).details).to.deep.include({ method: 'totp', availableMethods: ['totp'] });
    expect(challenges.map((c) => c.attempt)).to.deep.equal([1, 2]);
    expect(runs).to.have.length(0);
  });

  it('totp-max-attempts from the server stops the loop at once, and locks the factor', async () => {
    const client = await enrolled({ server: { maxFailedAttempts: 2 }, maxTwoFactorAttempts: 10 });
    answer = () => ({ code: wrongTotp(secret, clock) });
    const error = await rejection(client.call('transfer', 'x'), 'a call that locks the factor');
    expect((error as DdpError).error).to.equal('totp-max-attempts');
    const lockedFor = ((error as DdpError).details as { lockedFor?: unknown }).lockedFor;
    expect(lockedFor).to.be.a('number').greaterThan(0);
    // Two wrong codes: the second one locked; the client asked no third time.
    expect(challenges).to.have.length(2);

    // While locked, even the right code is refused, before the callback is asked.
    answer = () => ({ code: totpNow(secret, clock) });
    const locked = await rejection(client.call('transfer', 'y'), 'a call while locked');
    expect((locked as DdpError).error).to.equal('totp-max-attempts');
    expect(challenges).to.have.length(2);
    expect(runs).to.have.length(0);

    // The lock-out runs on the server's clock: after it, the right code passes.
    clock.advance(lockedFor as number);
    expect(await within(client.call('transfer', 'z'), 5_000, 'a call after the lock-out')).to.deep.equal({ done: true, params: ['z'] });
  });

  it('login of a TOTP user: loginWithPassword asks the callback and retries with {totp:{login, code}}', async () => {
    await enrolled();
    const sent: string[] = [];
    const loginChallenges: TwoFactorChallenge[] = [];
    const client = await connectClient(server, {
      WebSocket: recordingWebSocket(sent),
      onTwoFactorRequired: (challenge) => {
        loginChallenges.push(challenge);
        return { code: totpNow(secret, clock) };
      },
    });
    const code = totpNow(secret, clock);
    const result = await within(client.loginWithPassword('tina', PASSWORD), 5_000, 'login with TOTP');
    expect(result.id).to.equal(userId);
    expect(result.type).to.equal('password');
    expect(client.userId).to.equal(userId);
    expect(loginChallenges).to.have.length(1);
    expect(loginChallenges[0]!.method).to.equal('login');
    expect(loginChallenges[0]!.details).to.deep.include({ method: 'totp', availableMethods: ['totp'], emailOrUsername: 'tina' });

    const login = { user: { username: 'tina' }, password: { digest: PASSWORD_DIGEST, algorithm: 'sha-256' } };
    expect(sentCalls(sent, 'login').map((c) => c.params)).to.deep.equal([[login], [{ totp: { login, code } }]]);
    await waitUntil(() => client.collection('users').has(userId), 'the users document');
  });

  it('login of a TOTP user: cancelling leaves the client logged out; login never falls back to the password', async () => {
    await enrolled();
    const asked: TwoFactorChallenge[] = [];
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        asked.push(challenge);
        // The password is not a second factor for login: naming it is refused.
        return asked.length === 1 ? { code: PASSWORD_DIGEST, method: 'password' } : null;
      },
    });
    const error = await rejection(client.loginWithPassword('tina', PASSWORD), 'a cancelled login');
    expect((error as DdpError).error).to.equal('two-factor-cancelled');
    expect(asked.map((c) => c.error.error)).to.deep.equal(['totp-required', 'totp-invalid']);
    expect(client.userId).to.equal(undefined);
  });

  it('disableTotp with a code turns the factor off: guarded calls fall back to the password', async () => {
    const client = await enrolled();
    // A wrong code is the method's answer, not a challenge: it reaches the caller unasked.
    const refused = await rejection(client.account.disableTotp(wrongTotp(secret, clock)), 'disableTotp with a wrong code');
    expect((refused as DdpError).error).to.equal('totp-invalid');
    expect(challenges).to.have.length(0);
    await within(client.account.disableTotp(totpNow(secret, clock)), 5_000, 'disableTotp');
    clock.advance(STEP_MS);
    answer = (c) => (c.details.method === 'password' ? { code: PASSWORD_DIGEST, method: 'password' } : null);
    expect(await within(client.call('transfer', 'p'), 5_000, 'guarded call after disable')).to.deep.equal({ done: true, params: ['p'] });
    expect(challenges.at(-1)!.details).to.deep.include({ method: 'password', availableMethods: [] });
  });
});
