/**
 * Issue 7, mail faults: the SMTP server refuses every message (550), or is down (its port is
 * closed). A call that would send a code or a link fails with a clear client-safe error, no
 * code or token is stored that the user never received, no failed attempt is counted, and the
 * same call works once SMTP is back.
 */
import { expect } from 'chai';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { UserRecord } from '../../server/storage/contract.js';
import type { CodePurpose } from '../../server/storage/contract.js';
import { passwordLogin, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { Msg } from '../two-factor/client.js';
import type { Logger } from '../../server/runtime/logger.js';
import { SmtpSwitch } from './support.js';

const SEND_FAILED = 'email-send-failed';

type Outage = { name: string; start(fx: Fixture, smtp: SmtpSwitch): Promise<void>; end(fx: Fixture, smtp: SmtpSwitch): Promise<void> };

/** The two ways mail fails. The server always talks to the switch; the switch relays to the sink when up. */
const OUTAGES: Outage[] = [
  {
    name: 'refusing every message (550)',
    async start(fx) {
      fx.sink.rejectAll = true;
    },
    async end(fx) {
      fx.sink.rejectAll = false;
    },
  },
  {
    name: 'down (connection refused)',
    async start(_fx, smtp) {
      await smtp.down();
    },
    async end(fx, smtp) {
      await smtp.up(sinkPortOf(fx));
    },
  },
];

/** The port the fixture's SMTP sink listens on (smtp-server keeps its net.Server as `server`). */
function sinkPortOf(fx: Fixture): number {
  const inner = (fx.sink as unknown as { server: { server: net.Server } }).server.server;
  return (inner.address() as AddressInfo).port;
}

describe('reliability: SMTP refusing or down', function () {
  this.timeout(30_000);
  let fx: Fixture;
  let smtp: SmtpSwitch;
  /** Warnings the server logged: a mail that failed after the answer shows up only here. */
  let warnings: string[];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (_fields, message) => void warnings.push(message),
    error: () => undefined,
  };

  async function warned(message: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!warnings.includes(message)) {
      if (Date.now() > deadline) throw new Error(`the server did not log '${message}' (logged: ${warnings.join('; ')})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  beforeEach(async () => {
    warnings = [];
    smtp = await SmtpSwitch.create();
    fx = await startFixture({ smtpUrl: smtp.url, logger });
    // The fixture's own sink is the real mail server behind the switch.
    await smtp.up(sinkPortOf(fx));
  });
  afterEach(async () => {
    await stopFixtures();
    await smtp.down();
  });

  async function activeCode(user: UserRecord, purpose: CodePurpose): Promise<unknown> {
    return fx.services.store.codes.findActive(user.id, purpose, new Date(fx.clock.now()));
  }

  function expectSendFailed(error: Msg | undefined, what: string): void {
    expect(error, what).to.not.equal(undefined);
    expect(error!.isClientSafe, what).to.equal(true);
    expect(error!.error, `${what}: ${JSON.stringify(error)}`).to.equal(SEND_FAILED);
    expect(error!.reason, what).to.be.a('string').and.match(/could not be sent/i);
  }

  async function emailTwoFactorUser(name: string): Promise<UserRecord> {
    const user = await fx.user(name);
    await fx.services.store.twoFactor.setEmailEnabled(user.id, true);
    return user;
  }

  for (const outage of OUTAGES) {
    describe(`SMTP ${outage.name}`, () => {
      it('a guarded call that needs an email code: email-send-failed, no code stored, no attempt counted; works once SMTP is back', async () => {
        const user = await emailTwoFactorUser('carol');
        // carol has email 2FA, so even login asks for a code: log in while SMTP works.
        const client = await fx.connect();
        const login = await client.call('login', passwordLogin('carol'));
        expect(login.msg.error?.error).to.equal('totp-required');
        const first = await fx.emailCode('carol@example.com');
        await client.ok('login', { totp: { login: passwordLogin('carol'), code: first } });

        await outage.start(fx, smtp);
        fx.clock.advance(601_000); // the first code expired: the next call must mail a new one
        for (let i = 0; i < 3; i++) {
          expectSendFailed(await client.fails('app.always'), `attempt ${i + 1} during the outage`);
        }
        expect(await activeCode(user, 'email-2fa'), 'a code nobody received').to.equal(null);
        const attempts = await fx.services.store.attempts.get(user.id, 'email', new Date(fx.clock.now()));
        expect(attempts.failures, 'failed sends are not failed attempts').to.equal(0);
        expect(fx.mailsTo('carol@example.com')).to.have.length(1);

        await outage.end(fx, smtp);
        const asked = await client.fails('app.always');
        expect(asked.error).to.equal('totp-required');
        expect(asked.details.method).to.equal('email');
        expect(asked.details.codeGenerated).to.equal(true);
        const code = await fx.emailCode('carol@example.com', 2);
        expect(await client.ok('app.always', { twoFactorCode: code, twoFactorMethod: 'email' })).to.equal('always');
      });

      it('login of an email-2FA user: email-send-failed during the outage, the code arrives after it', async () => {
        const user = await emailTwoFactorUser('dave');
        const client = await fx.connect();
        await outage.start(fx, smtp);
        expectSendFailed((await client.call('login', passwordLogin('dave'))).msg.error as Msg, 'login during the outage');
        expect(await activeCode(user, 'email-2fa')).to.equal(null);
        await outage.end(fx, smtp);
        const asked = await client.fails('login', passwordLogin('dave'));
        expect(asked.error).to.equal('totp-required');
        const code = await fx.emailCode('dave@example.com');
        const result = (await client.ok('login', { totp: { login: passwordLogin('dave'), code } })) as Msg;
        expect(result.id).to.equal(user.id);
      });

      it('2fa:sendEmailCode: email-send-failed, nothing stored, and no cool-down started; then the code is sent', async () => {
        const user = await emailTwoFactorUser('erin');
        const client = await fx.connect();
        await outage.start(fx, smtp);
        expectSendFailed(await client.fails('2fa:sendEmailCode', { emailOrUsername: 'erin' }), '2fa:sendEmailCode during the outage');
        expect(await activeCode(user, 'email-2fa')).to.equal(null);
        await outage.end(fx, smtp);
        // At once: a send that failed does not start the one-mail-a-minute cool-down.
        expect(await client.ok('2fa:sendEmailCode', { emailOrUsername: 'erin' })).to.equal(undefined);
        await fx.emailCode('erin@example.com');
        expect(await activeCode(user, 'email-2fa')).to.not.equal(null);
      });

      it('sendVerificationEmail: email-send-failed, no token kept; forgotPassword answers as always and keeps no token; then they work', async () => {
        const user = await fx.user('frank', { verified: false });
        const { client } = await fx.login('frank');
        await outage.start(fx, smtp);
        expectSendFailed(await client.fails('sendVerificationEmail'), 'sendVerificationEmail during the outage');
        // forgotPassword answers before it mails (the answer tells nobody whether the address
        // exists); the token of the mail that failed is taken back.
        expect(await client.ok('forgotPassword', { email: 'frank@example.com' })).to.equal(undefined);
        await warned('could not send a password-reset email');
        expect(await activeCode(user, 'verify-email')).to.equal(null);
        expect(await activeCode(user, 'reset-password')).to.equal(null);
        await outage.end(fx, smtp);
        expect(await client.ok('sendVerificationEmail')).to.equal(undefined);
        expect(await client.ok('forgotPassword', { email: 'frank@example.com' })).to.equal(undefined);
        expect(await activeCode(user, 'verify-email')).to.not.equal(null);
        await fx.sink.waitFor((m) => m.to.includes('frank@example.com') && /reset/i.test(m.subject));
        // One reset token stored: the one whose mail arrived (the first was removed when its mail failed).
        expect(await fx.services.store.codes.removeForUser(user.id, 'reset-password')).to.equal(1);
      });
    });
  }
});
