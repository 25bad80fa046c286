import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../server/index.js';
import { stopServers } from '../helpers/server.js';
import { ClientPool } from '../helpers/ddp.js';
import { parseMessage, SmtpSink, tokenInMail, type SinkMessage } from '../helpers/smtp-sink.js';
import { addUser, DAY_MS, meteorPassword, removeTempDirs, startAccountsServer, T0, tempDir } from './support.js';

const EXPIRED = 'Verify email link expired';

/** The token of a verification mail sent without `publicUrl`. */
function verificationToken(mail: Pick<SinkMessage, 'text' | 'subject'>): string {
  return tokenInMail(mail, 'Verify your email address', /enter this token:\n\n([A-Za-z0-9_-]{43,})\n/);
}

describe('accounts: email verification', function () {
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
    removeTempDirs();
  });

  it('mails a token over SMTP that verifies the address once, and logs in whoever uses it', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ clock, smtpUrl, mailFrom: 'Chat <no-reply@chat.test>' });
    const carol = await addUser(services, { username: 'carol', email: 'carol@example.com', password: 'pw-carol' });
    const anonymous = await pool.connect(url);
    expect((await anonymous.call('sendVerificationEmail')).error?.error).to.equal(401);
    expect(sink.messages).to.have.length(0);

    const client = await pool.connect(url);
    expect((await client.call('login', { user: 'carol', password: meteorPassword('pw-carol') })).result?.id).to.equal(carol.id);
    const sent = await client.call('sendVerificationEmail');
    expect(sent.error, JSON.stringify(sent.error)).to.equal(undefined);
    const mail = await sink.waitFor((m) => m.to.includes('carol@example.com'));
    expect(mail.from).to.equal('no-reply@chat.test');
    const token = verificationToken(mail);

    const other = await pool.connect(url);
    const verified = await other.call('verifyEmail', token);
    expect(verified.error, JSON.stringify(verified.error)).to.equal(undefined);
    expect(verified.result).to.include({ id: carol.id, type: 'password' });
    expect((await services.store.users.findById(carol.id))?.emails).to.deep.equal([{ address: 'carol@example.com', verified: true }]);
    expect(other.docs('users').get(carol.id)?.emails).to.deep.equal([{ address: 'carol@example.com', verified: true }]);
    // The connection already logged in as carol sees its own document change live.
    await client.waitFor((m) => m.msg === 'changed' && m.collection === 'users' && m.id === carol.id);
    expect(client.docs('users').get(carol.id)?.emails).to.deep.equal([{ address: 'carol@example.com', verified: true }]);

    const reused = await (await pool.connect(url)).call('verifyEmail', token);
    expect(reused.error).to.include({ error: 403, reason: EXPIRED });
    const again = await client.call('sendVerificationEmail');
    expect(again.error?.error).to.equal(403);
    expect(sink.messages).to.have.length(1);
  });

  it('refuses a verification token after its 7 days (manual clock)', async () => {
    const clock = new ManualClock(T0);
    const { services, url } = await startAccountsServer({ clock, smtpUrl });
    const dave = await addUser(services, { username: 'dave', email: 'dave@example.com', password: 'pw-dave' });
    const client = await pool.connect(url);
    await client.call('login', { user: 'dave', password: 'pw-dave' });
    expect((await client.call('sendVerificationEmail', 'dave@example.com')).error).to.equal(undefined);
    const stale = verificationToken(await sink.waitFor((m) => m.to.includes('dave@example.com')));
    clock.advance(DAY_MS);
    expect((await client.call('sendVerificationEmail')).error).to.equal(undefined);
    await sink.waitFor(() => sink.messages.length === 2);
    const fresh = verificationToken(sink.messages[1]!);
    clock.advance(6 * DAY_MS);
    const late = await (await pool.connect(url)).call('verifyEmail', stale);
    expect(late.error).to.include({ error: 403, reason: EXPIRED });
    expect((await services.store.users.findById(dave.id))?.emails[0]?.verified).to.equal(false);
    // The second mail, sent a day later, is still within its 7 days.
    const ok = await (await pool.connect(url)).call('verifyEmail', fresh);
    expect(ok.result?.id).to.equal(dave.id);
    expect((await services.store.users.findById(dave.id))?.emails[0]?.verified).to.equal(true);
  });

  it('without smtpUrl, writes the mail as an .eml file in outboxDir, and its token works', async () => {
    const outboxDir = tempDir();
    const { services, url } = await startAccountsServer({ outboxDir });
    const erin = await addUser(services, { username: 'erin', email: 'erin@example.com', password: 'pw-erin' });
    const client = await pool.connect(url);
    await client.call('login', { user: 'erin', password: 'pw-erin' });
    expect((await client.call('sendVerificationEmail')).error).to.equal(undefined);
    const files = readdirSync(outboxDir);
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/^[0-9TZ]+-[0-9a-f]{8}\.eml$/);
    const raw = readFileSync(path.join(outboxDir, files[0]!), 'utf8');
    const mail = parseMessage(raw, '', []);
    expect(mail.headers.get('to')).to.equal('erin@example.com');
    const token = verificationToken(mail);
    expect(sink.messages).to.have.length(0);
    const out = await (await pool.connect(url)).call('verifyEmail', token);
    expect(out.result?.id).to.equal(erin.id);
    expect((await services.store.users.findById(erin.id))?.emails[0]?.verified).to.equal(true);
  });
});
