import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { MailDeliveryError, messageFields, type MailMessage, type Mailer } from './mailer.js';
import { parseSmtpUrl, redactSmtpUrl } from './smtp-url.js';

/** Options for {@link createSmtpMailer}. */
export interface SmtpMailerOptions {
  /** `smtp://[user:pass@]host[:port]` or `smtps://...`; see `parseSmtpUrl`. */
  url: string;
  /** Sender address, e.g. `"ddp-guard" <no-reply@example.com>`. */
  from: string;
  /** TCP connect timeout; short so a dead server fails a 2FA request quickly. @default 5000 */
  connectionTimeoutMs?: number;
  /** Time allowed for the server's 220 greeting after connecting. @default 5000 */
  greetingTimeoutMs?: number;
  /** Inactivity timeout once connected (nodemailer's default is 10 minutes). @default 15000 */
  socketTimeoutMs?: number;
}

const CHECK_HINT =
  'Check that the SMTP server is running and reachable at that host and port, that the scheme ' +
  'matches its TLS mode (smtps:// for implicit TLS, usually port 465; smtp:// otherwise), and ' +
  'that it accepts the credentials, the sender and the recipients.';

/**
 * A mailer that delivers over SMTP with nodemailer, one connection per message.
 * @throws Error at creation when the URL is not a valid smtp:// or smtps:// URL.
 */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const s = parseSmtpUrl(options.url);
  const where = redactSmtpUrl(options.url);
  const transportOptions: SMTPTransport.Options = {
    host: s.host,
    port: s.port,
    secure: s.secure,
    requireTLS: s.requireTLS,
    ignoreTLS: s.ignoreTLS,
    tls: { rejectUnauthorized: s.rejectUnauthorized },
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    greetingTimeout: options.greetingTimeoutMs ?? 5000,
    socketTimeout: options.socketTimeoutMs ?? 15000,
  };
  if (s.auth) transportOptions.auth = s.auth;
  const transport = nodemailer.createTransport(transportOptions, { from: options.from });

  return {
    async send(msg: MailMessage): Promise<void> {
      let info: SMTPTransport.SentMessageInfo;
      try {
        info = await transport.sendMail(messageFields(msg));
      } catch (err) {
        throw toDeliveryError(err, where);
      }
      // nodemailer resolves when at least one recipient was accepted; a partly
      // delivered 2FA mail is still a failure the caller must hear about.
      if (info.rejected.length > 0) {
        const who = info.rejected.map((a) => (typeof a === 'string' ? a : a.address)).join(', ');
        throw new MailDeliveryError(`SMTP delivery via ${where} failed for ${who}: ${info.response}. ${CHECK_HINT}`);
      }
    },
    async verify(): Promise<void> {
      try {
        await transport.verify();
      } catch (err) {
        throw toDeliveryError(err, where);
      }
    },
    close(): void {
      transport.close();
    },
    describe(): string {
      return where;
    },
  };
}

/** Wraps a nodemailer error, keeping its code and SMTP reply for callers and logs. */
function toDeliveryError(err: unknown, where: string): MailDeliveryError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    message?: unknown;
    code?: unknown;
    responseCode?: unknown;
  };
  const reason = typeof e.message === 'string' ? e.message : String(err);
  const opts: { cause: unknown; transportCode?: string; responseCode?: number } = { cause: err };
  if (typeof e.code === 'string') opts.transportCode = e.code;
  if (typeof e.responseCode === 'number') opts.responseCode = e.responseCode;
  return new MailDeliveryError(`SMTP delivery via ${where} failed: ${reason}. ${CHECK_HINT}`, opts);
}
