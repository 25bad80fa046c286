/**
 * Email codes end to end: the server mails a real SMTP sink on loopback, the test reads the
 * code from the received message and gives it to the client's callback.
 */
import { expect } from 'chai';
import type { DdpError, TwoFactorAnswer, TwoFactorChallenge } from '../../client/node.js';
import type { GuardServer } from '../../server/index.js';
import type { SmtpSink } from '../helpers/smtp-sink.js';
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
  rejection,
  startGuardServer,
  startSmtpSink,
  totpNow,
  waitUntil,
  within,
} from './support.js';

const ADDRESS = 'emma@example.com';

/** The code in the `index`-th message of the sink (waits for it, bounded). */
async function codeFromMail(sink: SmtpSink, index: number): Promise<string> {
  await waitUntil(() => sink.messages.length > index, `mail #${index + 1} in the SMTP sink`, 5_000);
  const mail = sink.messages[index]!;
  expect(mail.to).to.deep.equal([ADDRESS]);
  const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
  if (code === undefined) throw new Error(`no six-digit code in the mail: ${mail.text}`);
  expect(mail.subject).to.include(code);
  return code;
}

describe('client e2e: email codes', () => {
  let clock: ManualClock;
  let server: GuardServer;
  let sink: SmtpSink;
  let userId: string;
  let challenges: TwoFactorChallenge[];
  let answer: (challenge: TwoFactorChallenge) => Promise<TwoFactorAnswer | null>;

  beforeEach(async () => {
    clock = new ManualClock(T0);
    const smtp = await startSmtpSink();
    sink = smtp.sink;
    server = await startGuardServer({
      clock,
      smtpUrl: smtp.url,
      setup: (s) => s.methods({ guarded: { twoFactor: true, handler: (x: unknown) => ({ ok: x }) } }),
    });
    userId = (await addUser(server, 'emma', { address: ADDRESS, verified: true })).id;
    challenges = [];
  });

  afterEach(cleanup);

  it('enables email codes (password fallback), then TOTP off: guarded calls ask for a mailed code', async () => {
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return answer(challenge);
      },
    });
    await within(client.loginWithPassword('emma', PASSWORD), 5_000, 'login');
    const users = client.collection<{ twoFactor: { totp: boolean; email: boolean } }>('users');
    await waitUntil(() => users.has(userId), 'the users document');

    // 1. Turning email codes on is guarded; the user has no factor yet: the password is asked.
    answer = async () => ({ code: PASSWORD_DIGEST, method: 'password' });
    await within(client.account.enableEmailCodes(), 5_000, 'enableEmailCodes');
    expect(challenges.map((c) => [c.method, c.details.method])).to.deep.equal([['2fa:enableEmail', 'password']]);
    const { store } = await server.services.get();
    expect((await store.twoFactor.get(userId)).emailEnabled).to.equal(true);

    // 2. Adding TOTP proves the factor the user has now: a mailed code, asked through the callback.
    answer = async () => ({ code: await codeFromMail(sink, 0) });
    const { secret } = await enrolTotp(client, clock, null);
    expect(challenges.at(-1)!.details).to.deep.include({ method: 'email', availableMethods: ['email'] });
    // With TOTP enrolled too, TOTP is preferred and email is offered.
    answer = async () => ({ code: totpNow(secret, clock) });
    expect(await within(client.call('guarded', 1), 5_000, 'guarded call with TOTP')).to.deep.equal({ ok: 1 });
    expect(challenges.at(-1)!.details).to.deep.include({ method: 'totp', availableMethods: ['totp', 'email'] });
    expect(sink.messages).to.have.length(1);

    // 3. TOTP off (with a code of a new step): email is the only factor left.
    clock.advance(STEP_MS);
    await within(client.account.disableTotp(totpNow(secret, clock)), 5_000, 'disableTotp');
    expect((await store.twoFactor.get(userId)).totpEnabled).to.equal(false);

    // 4. A guarded call: the server mails a code; the test reads it from the sink.
    challenges = [];
    answer = async () => ({ code: await codeFromMail(sink, 1) });
    expect(await within(client.call('guarded', 2), 8_000, 'guarded call with an email code')).to.deep.equal({ ok: 2 });
    expect(challenges).to.have.length(1);
    const challenge = challenges[0]!;
    expect(challenge.details.method).to.equal('email');
    expect(challenge.details.availableMethods).to.deep.equal(['email']);
    expect(challenge.details.codeGenerated).to.equal(true);
    expect(challenge.emailCodeSent).to.equal(true);
    expect(challenge.isRetryAfterInvalid).to.equal(false);
    // The code's expiry, on the server's clock (600 s by default).
    expect(challenge.details.codeExpires?.getTime()).to.equal(clock.now() + 600_000);
    expect(sink.messages).to.have.length(2);
  });

  it('login of an email-code user, then a wrong code and the mailed one; a code works once', async () => {
    const { store } = await server.services.get();
    await store.twoFactor.setEmailEnabled(userId, true);
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return answer(challenge);
      },
    });

    // The login asks too, with the address the user typed, and the mailed code answers it.
    answer = async () => ({ code: await codeFromMail(sink, 0) });
    const login = await within(client.loginWithPassword('emma', PASSWORD), 8_000, 'login with an email code');
    expect(login.id).to.equal(userId);
    expect(challenges).to.have.length(1);
    expect(challenges[0]!.method).to.equal('login');
    expect(challenges[0]!.emailCodeSent).to.equal(true);
    expect(challenges[0]!.details).to.deep.include({ method: 'email', availableMethods: ['email'], emailOrUsername: 'emma' });

    // A guarded call mails a new code; a wrong answer does not trigger another mail.
    challenges = [];
    let mailed = '';
    answer = async (c) => {
      if (c.attempt === 1) {
        mailed = await codeFromMail(sink, 1);
        return { code: mailed === '000000' ? '111111' : '000000' };
      }
      return { code: mailed };
    };
    expect(await within(client.call('guarded', 'a'), 8_000, 'guarded call')).to.deep.equal({ ok: 'a' });
    expect(challenges.map((c) => [c.attempt, c.isRetryAfterInvalid, c.emailCodeSent])).to.deep.equal([
      [1, false, true],
      [2, true, false],
    ]);
    expect(sink.messages).to.have.length(2);

    // Spent: the same code again is invalid; the new challenge mailed a fresh code.
    challenges = [];
    answer = async (c) => (c.attempt === 1 ? { code: mailed } : null);
    const error = await rejection(client.call('guarded', 'b'), 'a reused email code', 8_000);
    expect((error as DdpError).error).to.equal('two-factor-cancelled');
    expect(challenges.map((c) => [c.isRetryAfterInvalid, c.emailCodeSent])).to.deep.equal([
      [false, true],
      [true, false],
    ]);
    await waitUntil(() => sink.messages.length === 3, 'a third mail', 5_000);
  });

  it('disableEmailCodes always asks for a code, and turns the factor off', async () => {
    const client = await connectClient(server, {
      onTwoFactorRequired: (challenge) => {
        challenges.push(challenge);
        return answer(challenge);
      },
    });
    await within(client.loginWithPassword('emma', PASSWORD), 5_000, 'login');
    const { store } = await server.services.get();
    await store.twoFactor.setEmailEnabled(userId, true);
    answer = async () => ({ code: await codeFromMail(sink, 0) });
    await within(client.account.disableEmailCodes(), 8_000, 'disableEmailCodes');
    expect(challenges.map((c) => [c.method, c.details.method, c.emailCodeSent])).to.deep.equal([['2fa:disableEmail', 'email', true]]);
    expect((await store.twoFactor.get(userId)).emailEnabled).to.equal(false);
    expect(sink.messages).to.have.length(1);
  });
});
