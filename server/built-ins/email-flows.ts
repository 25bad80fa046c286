/**
 * Email verification and password reset: single-use tokens, stored as keyed hashes, that
 * expire. The token is stored before its mail leaves (a link followed at once works) and
 * removed again if the mail cannot be sent, so no token lasts that nobody received.
 */
import { catalogueError } from '../../protocol/errors.js';
import type { Services } from '../services/services.js';
import type { CodePurpose, UserRecord } from '../storage/contract.js';
import { MailDeliveryError, type MailMessage } from '../mail/mailer.js';
import { resetPasswordMail, verifyEmailMail } from '../mail/templates.js';
import { randomToken } from '../security/crypto.js';
import { codeHash } from '../two-factor/factors.js';

function link(services: Services, route: string, token: string): string | undefined {
  const base = services.options.publicUrl;
  return base === null ? undefined : `${base.replace(/\/$/, '')}/#/${route}/${token}`;
}

/** A link into the account page (`/account/#/<route>/<token>`): the token stays in the fragment, never sent to a server. */
function pageLink(services: Services, route: string, token: string): string | undefined {
  const base = services.options.publicUrl;
  return base === null ? undefined : `${base.replace(/\/$/, '')}/account/#/${route}/${token}`;
}

async function sendOrFail(services: Services, message: MailMessage, userId: string): Promise<void> {
  try {
    await services.mailer.send(message);
  } catch (err) {
    if (err instanceof MailDeliveryError) {
      services.logger.error({ userId, err: err.message }, 'could not send an account email');
      throw catalogueError('emailSendFailed');
    }
    throw err;
  }
}

/** Store the token, send its mail, and take the token back if the mail could not be sent. */
async function storeAndSend(services: Services, user: UserRecord, purpose: CodePurpose, token: string, lifetimeMs: number, data: string, message: MailMessage): Promise<void> {
  const now = services.clock.now();
  const hash = codeHash(services, purpose, token);
  await services.store.codes.put({ userId: user.id, purpose, codeHash: hash, createdAt: new Date(now), expiresAt: new Date(now + lifetimeMs), data });
  try {
    await sendOrFail(services, message, user.id);
  } catch (err) {
    await services.store.codes.consume(user.id, purpose, hash, new Date(now)).catch((cleanup: unknown) => {
      services.logger.error({ userId: user.id, err: String(cleanup) }, 'could not remove the token of an email that was not sent');
    });
    throw err;
  }
}

/** Send a verification link (or token) to one of the user's unverified addresses. */
export async function sendVerificationEmail(services: Services, user: UserRecord, address?: string): Promise<void> {
  const email = address === undefined ? user.emails.find((e) => !e.verified) : user.emails.find((e) => e.address.toLowerCase() === address.toLowerCase());
  if (!email) throw catalogueError('noSuchUnverifiedEmail');
  if (email.verified) throw catalogueError('emailAlreadyVerified');
  const token = randomToken(32);
  const url = link(services, 'verify-email', token);
  const mail = verifyEmailMail(url === undefined ? { username: user.username, token } : { username: user.username, url });
  await storeAndSend(services, user, 'verify-email', token, services.options.verifyTokenLifetimeMs, email.address, { to: email.address, ...mail });
}

/** Mark the address of a verification token as verified; returns the user id. */
export async function consumeVerificationToken(services: Services, token: string): Promise<string> {
  const record = await services.store.codes.consume(null, 'verify-email', codeHash(services, 'verify-email', token), new Date(services.clock.now()));
  if (!record || record.data === null) throw catalogueError('verifyEmailLinkExpired');
  await services.store.users.setEmailVerified(record.userId, record.data, true);
  return record.userId;
}

/**
 * Send a reset link (or the token alone, without a public URL). The link is Meteor's
 * (`<public URL>/#/reset-password/<token>`), or the account page's (`/account/#/reset-password/<token>`)
 * when it is served: the page finishes the reset.
 */
export async function sendResetEmail(services: Services, user: UserRecord, address: string): Promise<void> {
  const token = randomToken(32);
  // The account page finishes it when it is served; otherwise the application's own page does, at Meteor's URL.
  const url = services.options.accountPage ? pageLink(services, 'reset-password', token) : link(services, 'reset-password', token);
  const mail = resetPasswordMail({ username: user.username, token, expiresInMinutes: Math.round(services.options.resetTokenLifetimeMs / 60_000), ...(url === undefined ? {} : { url }) });
  await storeAndSend(services, user, 'reset-password', token, services.options.resetTokenLifetimeMs, address, { to: address, ...mail });
}

/** Use a reset token once; returns the user id. */
export async function consumeResetToken(services: Services, token: string): Promise<string> {
  const record = await services.store.codes.consume(null, 'reset-password', codeHash(services, 'reset-password', token), new Date(services.clock.now()));
  if (!record) throw catalogueError('resetTokenExpired');
  return record.userId;
}
