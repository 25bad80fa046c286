import { expect } from 'chai';
import net from 'node:net';
import { MailDeliveryError, type Mailer } from '../../server/mail/mailer.js';
import { createSmtpMailer } from '../../server/mail/smtp-mailer.js';
import { parseSmtpUrl, redactSmtpUrl } from '../../server/mail/smtp-url.js';
import { twoFactorCodeMail } from '../../server/mail/templates.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { closedPort } from '../helpers/ports.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return expect.fail('expected the promise to reject');
}

describe('mail/smtp-mailer', () => {
  let sink: SmtpSink;
  let url: string;
  let mailer: Mailer;

  beforeEach(async () => {
    sink = new SmtpSink();
    ({ url } = await sink.start());
    mailer = createSmtpMailer({ url, from: '"ddp-guard" <no-reply@example.test>' });
  });
  afterEach(async () => {
    mailer.close();
    await sink.stop();
  });

  it('delivers a message to the SMTP server', async () => {
    const content = twoFactorCodeMail({ code: '042137', expiresInMinutes: 10, username: 'alice' });
    await mailer.send({ to: 'alice@example.test', ...content });
    const msg = await sink.waitFor((m) => m.to.includes('alice@example.test'));
    expect(msg.from).to.equal('no-reply@example.test');
    expect(msg.subject).to.equal('Your verification code: 042137');
    expect(msg.text).to.include('Hello alice,').and.include('042137').and.include('10 minutes');
    expect(msg.html).to.include('<strong');
  });

  it('delivers to several recipients and keeps non-ASCII text intact', async () => {
    const long = 'Grüße aus Köln — ' + 'x'.repeat(120);
    await mailer.send({ to: ['a@example.test', 'b@example.test'], subject: 'Höflich ✓', text: long });
    const msg = await sink.waitFor();
    expect(msg.to).to.deep.equal(['a@example.test', 'b@example.test']);
    expect(msg.subject).to.equal('Höflich ✓');
    expect(msg.text).to.equal(long);
  });

  it('verify() succeeds against a live server', async () => {
    await mailer.verify();
  });

  it('fails fast with MailDeliveryError when nothing listens', async () => {
    const port = await closedPort();
    const dead = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'x@example.test' });
    try {
      const started = Date.now();
      const err = await rejection(dead.send({ to: 'a@example.test', subject: 's', text: 't' }));
      expect(Date.now() - started).to.be.lessThan(3000);
      expect(err).to.be.instanceOf(MailDeliveryError);
      const e = err as MailDeliveryError;
      expect(e.code).to.equal('mail-delivery-failed');
      expect(e.message).to.include(`smtp://127.0.0.1:${port}`).and.match(/SMTP delivery/).and.match(/Check that/);
      expect(e.cause).to.be.instanceOf(Error);
      expect(await rejection(dead.verify())).to.be.instanceOf(MailDeliveryError);
    } finally {
      dead.close();
    }
  });

  it('fails fast when the server accepts the connection but never greets', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const m = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'x@example.test', greetingTimeoutMs: 300 });
    try {
      const started = Date.now();
      const err = await rejection(m.send({ to: 'a@example.test', subject: 's', text: 't' }));
      expect(err).to.be.instanceOf(MailDeliveryError);
      expect(Date.now() - started).to.be.lessThan(2000);
    } finally {
      m.close();
      silent.close();
    }
  });

  it('rejects with MailDeliveryError (550) when the server refuses', async () => {
    sink.rejectAll = true;
    const err = await rejection(mailer.send({ to: 'a@example.test', subject: 's', text: 't' }));
    expect(err).to.be.instanceOf(MailDeliveryError);
    expect((err as MailDeliveryError).responseCode).to.equal(550);
    expect(sink.messages).to.have.length(0);
  });

  it('describe() hides the password', () => {
    const m = createSmtpMailer({ url: 'smtps://user%40x:p%40ss@mail.example.test', from: 'x@example.test' });
    expect(m.describe()).to.equal('smtps://user%40x@mail.example.test:465');
    m.close();
    expect(mailer.describe()).to.equal(url);
  });
});

describe('mail/smtp-url', () => {
  it('parses schemes, ports, credentials and options', () => {
    expect(parseSmtpUrl('smtp://mail.example.test')).to.include({ host: 'mail.example.test', port: 587, secure: false });
    expect(parseSmtpUrl('smtps://mail.example.test')).to.include({ port: 465, secure: true });
    const s = parseSmtpUrl('smtp://u%3Ax:p%40ss%3Aw@h:2525?rejectUnauthorized=false&requireTLS=true');
    expect(s.auth).to.deep.equal({ user: 'u:x', pass: 'p@ss:w' });
    expect(s).to.include({ port: 2525, rejectUnauthorized: false, requireTLS: true, ignoreTLS: false });
    expect(parseSmtpUrl('smtp://[::1]:25').host).to.equal('::1');
    expect(redactSmtpUrl('smtp://[::1]:25')).to.equal('smtp://[::1]:25');
  });

  it('rejects other schemes, junk and unknown options with a clear message', () => {
    expect(() => parseSmtpUrl('http://x')).to.throw(/smtp:\/\/ or smtps:\/\//);
    expect(() => parseSmtpUrl('not a url')).to.throw(/not a valid URL/);
    expect(() => parseSmtpUrl('smtp://x?pool=true')).to.throw(/"pool" is not supported/);
  });
});
