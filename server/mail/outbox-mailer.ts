import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type StreamTransport from 'nodemailer/lib/stream-transport/index.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { MailDeliveryError, messageFields, type MailMessage, type Mailer } from './mailer.js';

/** Options for {@link createOutboxMailer}. */
export interface OutboxMailerOptions {
  /** Folder the `.eml` files go to; created when missing. */
  dir: string;
  /** Sender address written in the `From:` header. */
  from: string;
  /** Used for file names. @default systemClock */
  clock?: Clock;
}

/**
 * A mailer for development and tests that sends nothing: each message becomes an RFC 822
 * file `<timestamp>-<random>.eml` in `dir`, which any mail client can open. File names sort
 * by time.
 */
export function createOutboxMailer(options: OutboxMailerOptions): Mailer {
  const dir = path.resolve(options.dir);
  const clock = options.clock ?? systemClock;
  // The stream transport builds the exact message an SMTP server would receive.
  // CRLF line ends, as RFC 822 files and mail clients expect.
  const builderOptions: StreamTransport.Options = { streamTransport: true, buffer: true, newline: 'windows' };
  const builder = nodemailer.createTransport(builderOptions, { from: options.from });

  return {
    async send(msg: MailMessage): Promise<void> {
      try {
        // The typings pick the SMTP-pool overload for these options; the runtime result is
        // the stream transport's, whose `message` is a Buffer because of `buffer: true`.
        const info = (await builder.sendMail(messageFields(msg))) as unknown as StreamTransport.SentMessageInfo;
        // Mail carries codes and reset tokens: the owner alone reads the folder and its files.
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        const stamp = new Date(clock.now()).toISOString().replace(/[-:.]/g, '');
        const name = `${stamp}-${randomBytes(4).toString('hex')}.eml`;
        // Write under a dot-name then rename, so a folder watcher never sees half a file.
        const tmp = path.join(dir, `.${name}.tmp`);
        await fs.writeFile(tmp, info.message as Buffer, { flag: 'wx', mode: 0o600 });
        await fs.rename(tmp, path.join(dir, name));
      } catch (err) {
        throw outboxError(dir, err);
      }
    },
    async verify(): Promise<void> {
      try {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        await fs.access(dir, fsConstants.W_OK);
      } catch (err) {
        throw outboxError(dir, err);
      }
    },
    close(): void {
      builder.close();
    },
    describe(): string {
      return dir;
    },
  };
}

function outboxError(dir: string, err: unknown): MailDeliveryError {
  const reason = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return new MailDeliveryError(
    `writing mail to the outbox folder ${dir} failed: ${reason}. Check that the folder can be created and is writable.`,
    typeof code === 'string' ? { cause: err, transportCode: code } : { cause: err },
  );
}
