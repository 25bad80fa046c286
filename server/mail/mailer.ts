/** One outgoing message. Addresses are plain `user@host` or `"Name" <user@host>`. */
export interface MailMessage {
  to: string | string[];
  subject: string;
  /** Plain-text body; always sent, so every client can read the message. */
  text: string;
  /** Optional HTML alternative. */
  html?: string;
}

/** Copies a message without an undefined `html`, which nodemailer would send as empty. */
export function messageFields(msg: MailMessage): MailMessage {
  const fields: MailMessage = { to: msg.to, subject: msg.subject, text: msg.text };
  if (msg.html !== undefined) fields.html = msg.html;
  return fields;
}

/**
 * Sends mail. The guard only depends on this interface; implementations are the SMTP
 * mailer (production) and the outbox mailer (development: writes .eml files).
 */
export interface Mailer {
  /**
   * Delivers a message. Resolves once every recipient was accepted.
   * @throws MailDeliveryError when delivery fails for any recipient; never swallowed.
   */
  send(msg: MailMessage): Promise<void>;
  /** Checks the configuration works (SMTP: connect and greet; outbox: folder writable). */
  verify(): Promise<void>;
  /** Releases connections; the mailer must not be used afterwards. */
  close(): void;
  /** Where mail goes, safe to log (no password). */
  describe(): string;
}

/**
 * A message could not be delivered. The message says what failed and what to check; the
 * original error is kept as `cause`.
 */
export class MailDeliveryError extends Error {
  override readonly name = 'MailDeliveryError';
  /** Stable code for callers and logs. */
  readonly code = 'mail-delivery-failed';
  /** The transport's own error code (e.g. `ECONNECTION`, `EENVELOPE`), when known. */
  readonly transportCode: string | undefined;
  /** The SMTP reply code (e.g. 550), when the server answered with an error. */
  readonly responseCode: number | undefined;

  constructor(message: string, options: { cause?: unknown; transportCode?: string; responseCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transportCode = options.transportCode;
    this.responseCode = options.responseCode;
  }
}
