import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../server/runtime/clock.js';
import { MailDeliveryError } from '../../server/mail/mailer.js';
import { createOutboxMailer } from '../../server/mail/outbox-mailer.js';
import { resetPasswordMail } from '../../server/mail/templates.js';
import { parseMessage } from '../helpers/smtp-sink.js';

describe('mail/outbox-mailer', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ddp-guard-outbox-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes each message as a readable .eml file in a folder it creates', async () => {
    const outbox = path.join(dir, 'mail', 'out');
    const clock = new ManualClock(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
    const mailer = createOutboxMailer({ dir: outbox, from: 'no-reply@example.test', clock });
    expect(mailer.describe()).to.equal(outbox);
    await mailer.verify();

    const content = resetPasswordMail({ token: 'tok-123', username: '<bob>', expiresInMinutes: 60 });
    await mailer.send({ to: 'bob@example.test', ...content });
    clock.advance(1000);
    await mailer.send({ to: ['c@example.test', 'd@example.test'], subject: 'second', text: 'two' });
    mailer.close();

    const files = (await fs.readdir(outbox)).sort();
    expect(files).to.have.length(2);
    expect(files[0]).to.match(/^20250102T030405678Z-[0-9a-f]{8}\.eml$/);
    expect(files[1]).to.match(/^20250102T030406678Z-[0-9a-f]{8}\.eml$/);

    const raw = await fs.readFile(path.join(outbox, files[0]!), 'utf8');
    expect(raw).to.include('\r\n');
    const msg = parseMessage(raw, '', []);
    expect(msg.headers.get('from')).to.equal('no-reply@example.test');
    expect(msg.headers.get('to')).to.equal('bob@example.test');
    expect(msg.headers.get('date')).to.be.a('string');
    expect(msg.headers.get('message-id')).to.match(/^<.+>$/);
    expect(msg.subject).to.equal('Reset your password');
    expect(msg.text).to.include('Hello <bob>,').and.include('tok-123').and.include('60 minutes');
    expect(msg.html).to.include('Hello &lt;bob&gt;,').and.not.include('<bob>');

    const second = parseMessage(await fs.readFile(path.join(outbox, files[1]!), 'utf8'), '', []);
    expect(second.headers.get('to')).to.equal('c@example.test, d@example.test');
  });

  it('rejects with MailDeliveryError when the folder cannot be written', async () => {
    const blocker = path.join(dir, 'a-file');
    await fs.writeFile(blocker, 'x');
    const mailer = createOutboxMailer({ dir: path.join(blocker, 'out'), from: 'x@example.test' });
    for (const attempt of [() => mailer.send({ to: 'a@example.test', subject: 's', text: 't' }), () => mailer.verify()]) {
      let error: unknown;
      try {
        await attempt();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(MailDeliveryError);
      expect((error as Error).message).to.include('outbox folder').and.include('writable');
    }
  });
});
