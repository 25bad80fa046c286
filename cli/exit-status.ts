/**
 * Exit statuses of `ddp-guard` and the translation of any error into one sentence for people
 * plus its status. Every command throws; only `program.ts` prints and picks the status.
 * @module
 */
import { AdminError, type AdminErrorCode } from '../server/accounts/admin.js';
import { ValidationError } from '../server/accounts/validation.js';
import { OptionError } from '../server/services/options.js';
import { StoreUnavailableError } from '../server/storage/store-errors.js';

/** The exit statuses, documented in `ddp-guard --help`. */
export const EXIT = Object.freeze({
  ok: 0,
  /** Anything not covered below (a crash, a database that cannot be opened...). */
  failure: 1,
  /** A bad command line, option, config file or input value. */
  usage: 2,
  /** The user (or address) named does not exist. */
  notFound: 3,
  /** A duplicate: the username or email is already used. */
  conflict: 4,
  /** `call`, `shell`, `script`: the DDP server could not be reached. */
  connection: 5,
});

/** An error the CLI reports as is, with its exit status. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** What to do next, added to the sentence saying what went wrong. */
const ADMIN_HINTS: Record<AdminErrorCode, string> = {
  'user-not-found': "check the name with 'ddp-guard user list' and the database with --db",
  'email-not-found': "check the addresses with 'ddp-guard user list'",
  'username-taken': 'choose another username',
  'email-taken': 'use another address, or find its owner with \'ddp-guard user list\'',
};

/** One line for stderr and the exit status. */
export interface ErrorReport {
  message: string;
  exitCode: number;
}

/** Turns any thrown value into the line to print and the exit status. */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof AdminError) return { message: `${capitalize(err.message)}: ${ADMIN_HINTS[err.code]}.`, exitCode: err.exitCode };
  if (err instanceof ValidationError) return { message: err.message, exitCode: EXIT.usage };
  if (err instanceof OptionError) return { message: `Invalid ${err.message}.`, exitCode: EXIT.usage };
  if (err instanceof StoreUnavailableError) {
    // The store's messages name the path or URL and often the fix; one sentence either way.
    const text = err.message.trim().replace(/\.$/, '');
    return { message: /[:;] /.test(text) ? `The database is unavailable: ${text}.` : `The database is unavailable (${text}): check --db and try again.`, exitCode: EXIT.failure };
  }
  if (err instanceof Error) return { message: sentence(err.message), exitCode: EXIT.failure };
  return { message: `Unexpected failure: ${String(err)}`, exitCode: EXIT.failure };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Other modules' messages as a sentence: a capital first, a full stop last. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? capitalize(trimmed) : `${capitalize(trimmed)}.`;
}
