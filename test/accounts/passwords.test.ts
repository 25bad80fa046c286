import { expect } from 'chai';
import { ManualClock } from '../../server/index.js';
import { stopServers } from '../helpers/server.js';
import { ClientPool, type DdpClient } from '../helpers/ddp.js';
import { SmtpSink, tokenInMail, type SinkMessage } from '../helpers/smtp-sink.js';
import { addUser, meteorHashedToken, meteorPassword, startAccountsServer, T0 } from './support.js';

const LOGIN_FAILED = 'Something went wrong. Please check your credentials.';
const LOGGED_OUT = "You've been logged out by the server. Please log in again.";

function resetToken(mail: SinkMessage): string {
  return tokenInMail(mail, 'Reset your password', /:\n\n([A-Za-z0-9_-]{43,})\n\n/);
}

describe('accounts: forgotPassword, resetPassword and changePassword', function () {
  const pool = new ClientPool();
  let sink: SmtpSink;
  let smtpUrl: string;
  beforeEach(async () => {
    sink = new SmtpSink();
    smtpUrl = (await sink.start()).url;
  });
  afterEach(async () => {
    await pool.closeAll();
    await stopServers();
    await sink.stop();
  });

  async function login(url: string, user: unknown, password: string): Promise<{ client: DdpClient; error?: unknown; token?: string }> {
    const client = await pool.connect(url);
    const out = await client.call('login', { user, password: meteorPassword(password) });
    return { client, error: out.error, token: out.result?.token };
  }

  it('forgotPassword answers the same for an unknown address and mails nothing; a known one gets a mail', async () => {
    const { services, url } = await startAccountsServer({ smtpUrl });
    await addUser(services, { username: 'erin', email: 'erin@example.com', password: 'old-pw' });
    const unknown = await (await pool.connect(url)).callWithId('fp', 'forgotPassword', { email: 'nobody@example.com' });
    expect(sink.messages).to.have.length(0);
    const known = await (await pool.connect(url)).callWithId('fp', 'forgotPassword', { email: 'erin@example.com' });
    expect(known.raw).to.equal(unknown.raw);
    expect(known.error).to.equal(undefined);
    // The mail leaves after the answer (so answering takes as long either way), then arrives.
    expect(resetToken(await sink.waitFor())).to.have.length.of.at.least(43);
    expect(sink.messages.map((m) => m.to)).to.deep.equal([['erin@example.com']]);
  });

  it('forgotPassword answers before the mail server has taken the mail, the same as for an unknown address', async () => {
    const { services, url } = await startAccountsServer({ smtpUrl });
    await addUser(services, { username: 'erin', email: 'erin@example.com', password: 'old-pw' });
    const release = sink.hold();
    const client = await pool.connect(url);
    const known = await client.callWithId('fp', 'forgotPassword', { email: 'erin@example.com' });
    const unknown = await client.callWithId('fp', 'forgotPassword', { email: 'nobody@example.com' });
    expect(known.raw).to.equal(unknown.raw);
    // Answered, and the mail is not delivered yet: the server did not wait for SMTP.
    expect(sink.messages).to.have.length(0);
    release();
    expect(resetToken(await sink.waitFor())).to.have.length.of.at.least(43);
    expect(sink.messages).to.have.length(1);
  });

  it('resetPassword works once, logs out the other sessions, and the old password stops working', async () => {
    const { services, url } = await startAccountsServer({ smtpUrl });
    const erin = await addUser(services, { username: 'erin', email: 'erin@example.com', password: 'old-pw' });
    const before = await login(url, 'erin', 'old-pw');
    expect(before.error).to.equal(undefined);
    expect((await (await pool.connect(url)).call('forgotPassword', { email: 'erin@example.com' })).error).to.equal(undefined);
    const token = resetToken(await sink.waitFor());

    const resetter = await pool.connect(url);
    const out = await resetter.call('resetPassword', token, meteorPassword('new-pw'));
    expect(out.error, JSON.stringify(out.error)).to.equal(undefined);
    expect(out.result).to.include({ id: erin.id, type: 'password' });
    expect(resetter.docs('users').has(erin.id)).to.equal(true);
    expect((await before.client.closed).code).to.equal(1000);
    const oldSession = await (await pool.connect(url)).call('login', { resume: before.token });
    expect(oldSession.error).to.include({ error: 403, reason: LOGGED_OUT });
    const resumed = await (await pool.connect(url)).call('login', { resume: out.result.token });
    expect(resumed.result?.id).to.equal(erin.id);

    const reused = await (await pool.connect(url)).call('resetPassword', token, meteorPassword('third-pw'));
    expect(reused.error).to.include({ error: 403, reason: 'Token expired' });
    expect((await login(url, 'erin', 'old-pw')).error).to.include({ error: 403, reason: LOGIN_FAILED });
    expect((await login(url, 'erin', 'new-pw')).error).to.equal(undefined);
    expect((await login(url, 'erin', 'third-pw')).error).to.include({ error: 403 });
  });

  it('refuses a reset token after its hour (manual clock) and keeps the password', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ smtpUrl, clock });
    await addUser(services, { username: 'erin', email: 'erin@example.com', password: 'old-pw' });
    await (await pool.connect(url)).call('forgotPassword', { email: 'erin@example.com' });
    const token = resetToken(await sink.waitFor());
    clock.advance(3600 * 1000);
    const late = await (await pool.connect(url)).call('resetPassword', token, meteorPassword('new-pw'));
    expect(late.error).to.include({ error: 403, reason: 'Token expired' });
    expect((await login(url, 'erin', 'old-pw')).error).to.equal(undefined);
    expect((await login(url, 'erin', 'new-pw')).error).to.include({ error: 403 });
  });

  it('changePassword needs the old password, keeps this session and ends the others', async () => {
    const { services, url } = await startAccountsServer();
    const frank = await addUser(services, { username: 'frank', email: 'frank@example.com', password: 'first' });
    const anonymous = await pool.connect(url);
    expect((await anonymous.call('changePassword', meteorPassword('first'), meteorPassword('second-password'))).error?.error).to.equal(401);
    const mine = await login(url, 'frank', 'first');
    const other = await login(url, 'frank', 'first');

    const wrong = await mine.client.call('changePassword', meteorPassword('not-it'), meteorPassword('second-password'));
    expect(wrong.error).to.include({ error: 403, reason: 'Incorrect password' });
    expect(other.client.isClosed).to.equal(false);

    const ok = await mine.client.call('changePassword', meteorPassword('first'), 'second-password');
    expect(ok.error, JSON.stringify(ok.error)).to.equal(undefined);
    expect(ok.result).to.deep.equal({ passwordChanged: true });
    expect((await other.client.closed).code).to.equal(1000);
    expect(mine.client.isClosed).to.equal(false);
    expect(await services.store.loginTokens.find(meteorHashedToken(other.token!))).to.equal(null);
    expect((await services.store.loginTokens.find(meteorHashedToken(mine.token!)))?.userId).to.equal(frank.id);
    const stillMine = await mine.client.call('getNewToken');
    expect(stillMine.result?.id).to.equal(frank.id);
    expect((await login(url, 'frank', 'first')).error).to.include({ error: 403, reason: LOGIN_FAILED });
    expect((await login(url, { email: 'frank@example.com' }, 'second-password')).error).to.equal(undefined);
  });
});
