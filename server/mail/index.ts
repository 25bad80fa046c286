export { MailDeliveryError, type MailMessage, type Mailer } from './mailer.js';
export { createSmtpMailer, type SmtpMailerOptions } from './smtp-mailer.js';
export { createOutboxMailer, type OutboxMailerOptions } from './outbox-mailer.js';
export { parseSmtpUrl, redactSmtpUrl, type SmtpUrlSettings } from './smtp-url.js';
export * from './templates.js';
