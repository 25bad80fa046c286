/**
 * Telling the owner when repeated wrong attempts lock part of their account: one mail, with no
 * code in it, to their verified addresses, at most once per {@link LOCK_NOTICE_INTERVAL_MS}
 * (an attacker who keeps the account locked does not also flood its inbox). Sent after the
 * refusal is answered; a mail that fails is logged.
 */
import type { Caller } from '../calls/caller.js';
import type { Services } from '../services/services.js';
import type { UserRecord } from '../storage/contract.js';
import { audit } from './audit.js';
import { errorFields } from '../runtime/logger.js';
import { accountLockedMail } from '../mail/templates.js';

/** Shortest time between two lock-out mails to one user. */
export const LOCK_NOTICE_INTERVAL_MS = 3600_000;

/** What was locked, as the mail says it. */
export type LockedThing = 'password' | 'passkey' | 'totp' | 'backup' | 'email';

const WHAT: Readonly<Record<LockedThing, string>> = {
  password: 'checking your password from where the wrong attempts came from',
  passkey: 'checking your passkeys',
  totp: 'checking codes from your authenticator app',
  backup: 'checking your backup codes',
  email: 'checking codes sent by email',
};

/** Mail the user about a lock-out that just started, unless one was mailed within the interval. */
export function noticeLockout(services: Services, user: UserRecord, thing: LockedThing, until: Date, caller: Caller): void {
  void send(services, user, thing, until, caller).catch((err: unknown) => {
    services.logger.warn({ userId: user.id, ...errorFields(err) }, 'could not mail the user about a lock-out');
  });
}

async function send(services: Services, user: UserRecord, thing: LockedThing, until: Date, caller: Caller): Promise<void> {
  const to = user.emails.filter((e) => e.verified).map((e) => e.address);
  if (to.length === 0) return;
  const now = services.clock.now();
  const recent = await services.store.audit.list({ userId: user.id, since: new Date(now - LOCK_NOTICE_INTERVAL_MS) });
  if (recent.some((r) => r.action === 'account.lock-notified')) return;
  // Recorded before sending: two lock-outs at once mail once (a lost mail is logged, not retried).
  await audit(services, 'account.lock-notified', user.id, caller, { locked: thing, until: until.toISOString() });
  const base = services.options.publicUrl;
  const accountUrl = base === null ? null : `${base.replace(/\/$/, '')}/account/`;
  await services.mailer.send({ to, ...accountLockedMail({ username: user.username, what: WHAT[thing], until, accountUrl }) });
}
