/**
 * `ddp-guard user ...`: user administration directly on the database (`--db`, the same default
 * and environment variable as `serve`). A running server sees the changes at once: they go
 * through the same store.
 * @module
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import {
  createUserRecord,
  listUsers,
  removeUser,
  resetUserTwoFactor,
  setUserPassword,
  unlockUser,
  verifyUserEmail,
  type UserSummary,
} from '../../server/accounts/admin.js';
import { validateEmail, validateUsername } from '../../server/accounts/validation.js';
import { DEFAULTS } from '../../server/services/options.js';
import { withAdminSession, type StoreFlags } from '../admin-session.js';
import { envVarName } from '../config-values.js';
import type { CliIo } from '../io.js';
import { obtainPassword, type PasswordFlags } from '../prompt.js';
import { formatTable } from '../table.js';

/** Adds `user` and its subcommands to the program. */
export function registerUser(program: Command, io: CliIo): void {
  const user = program
    .command('user')
    .description('administer users: add, list, passwd, verify-email, reset-2fa, unlock, remove')
    .addHelpText('after', `\n<user> is a username, or an email address when it contains "@".`);

  withStoreFlags(user.command('add <username>'))
    .description('create a user')
    .requiredOption('--email <address>', 'email address')
    .option('--password <pw>', 'password (visible to other local users; prefer --password-stdin or the prompt)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--verified', 'mark the email address verified')
    .action(async (username: string, flags: StoreFlags & PasswordFlags & { email: string; verified?: boolean }) => {
      // Checked before asking for a password, so a typo does not cost typing it twice.
      validateUsername(username);
      validateEmail(flags.email);
      const password = await obtainPassword(io, flags, `Password for ${username}: `);
      await withAdminSession(io, flags, { create: true }, async (session) => {
        const created = await createUserRecord(session, { username, email: flags.email, password, verified: flags.verified === true });
        const email = created.emails[0];
        const emailText = email ? `, email ${email.address}${email.verified ? ' (verified)' : ' (not verified)'}` : '';
        io.out(`Created user ${created.username} (id ${created.id})${emailText} in the ${session.database}.`);
      });
    });

  withStoreFlags(user.command('list'))
    .description('list users with their emails (✓ = verified) and 2FA state')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const users = await listUsers(session);
        if (flags.json) {
          io.out(JSON.stringify(users, null, 2));
          return;
        }
        if (users.length === 0) {
          io.out(`No users in the ${session.database}; add one with 'ddp-guard user add'.`);
          return;
        }
        const rows = users.map((u) => [u.username, u.id, emailsText(u), twoFactorText(u)]);
        for (const line of formatTable(['USERNAME', 'ID', 'EMAILS', '2FA'], rows)) io.out(line);
      });
    });

  withStoreFlags(user.command('passwd <user>'))
    .description("set a user's password; signs out all their sessions")
    .option('--password <pw>', 'the new password (visible to other local users; prefer --password-stdin or the prompt)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .action(async (ref: string, flags: StoreFlags & PasswordFlags) => {
      const password = await obtainPassword(io, flags, `New password for ${ref}: `);
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const { user: changed, tokensRemoved } = await setUserPassword(session, ref, password);
        io.out(`Password of ${changed.username} changed; ${plural(tokensRemoved, 'login session')} signed out.`);
      });
    });

  withStoreFlags(user.command('verify-email <user> [address]'))
    .description('mark an email address verified (without [address]: every address of the user)')
    .action(async (ref: string, address: string | undefined, flags: StoreFlags) => {
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const verified = await verifyUserEmail(session, ref, address);
        io.out(`Marked verified: ${verified.join(', ')}.`);
      });
    });

  withStoreFlags(user.command('reset-2fa <user>'))
    .description('turn off every second factor of a user (lost phone): passkeys, authenticator, backup codes, email codes, lock-outs')
    .action(async (ref: string, flags: StoreFlags) => {
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const reset = await resetUserTwoFactor(session, ref, actorName(io));
        const off = [reset.wasTotpEnabled && 'authenticator app', reset.wasEmailEnabled && 'email codes'].filter(Boolean);
        const was = [off.length > 0 && `turned off ${off.join(' and ')}`, reset.passkeysRemoved > 0 && `removed ${plural(reset.passkeysRemoved, 'passkey')}`].filter(Boolean);
        const before = was.length > 0 ? was.join(', ') : 'no second factor was on';
        io.out(`Two-factor authentication of ${reset.user.username} reset (${before}; backup codes and lock-outs cleared; ${plural(reset.tokensRemoved, 'login session')} signed out).`);
      });
    });

  withStoreFlags(user.command('unlock <user>'))
    .description('end the lock-outs of a user after wrong passwords or codes, and forget those failures')
    .action(async (ref: string, flags: StoreFlags) => {
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const { user: unlocked, countersCleared } = await unlockUser(session, ref, actorName(io));
        io.out(countersCleared === 0
          ? `${unlocked.username} had no failed attempts to clear.`
          : `Unlocked ${unlocked.username}: ${plural(countersCleared, 'attempt counter')} cleared.`);
      });
    });

  withStoreFlags(user.command('remove <user>'))
    .description('delete a user with their tokens, 2FA settings and codes (audit entries are kept)')
    .action(async (ref: string, flags: StoreFlags) => {
      await withAdminSession(io, flags, { create: false }, async (session) => {
        const removed = await removeUser(session, ref);
        io.out(`Removed user ${removed.username} (id ${removed.id}).`);
      });
    });
}

/** The `--db` and `--config` flags every user command takes. */
function withStoreFlags(command: Command): Command {
  return command
    .option('--db <file|:memory:|memory|postgres://...>', `the database, as for serve (default ${envVarName('db')} or ${DEFAULTS.db})`)
    .option('--config <file>', 'JSON config file, as for serve');
}

function emailsText(user: UserSummary): string {
  if (user.emails.length === 0) return '-';
  return user.emails.map((e) => (e.verified ? `${e.address} ✓` : e.address)).join(', ');
}

function twoFactorText(user: UserSummary): string {
  const { totp, email, backupCodesRemaining, passkeys } = user.twoFactor;
  const on = [passkeys > 0 && plural(passkeys, 'passkey'), totp && `totp (${plural(backupCodesRemaining, 'backup code')})`, email && 'email'].filter(Boolean);
  return on.length > 0 ? on.join(', ') : 'off';
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Who ran the command, for the audit trail. */
function actorName(io: CliIo): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to what the shell says.
    return io.env['USER'] ?? io.env['LOGNAME'] ?? 'unknown';
  }
}
