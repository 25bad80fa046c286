/**
 * How a call ended, as logs and metrics name it: `ok`, the client-safe error code the caller
 * received (`totp-required`, `too-many-requests`, `403`...), or `internal` for anything the
 * client only saw as a 500.
 */
import { catalogueError, isClientSafeError, METHOD_ERRORS } from '../../protocol/errors.js';
import { MatchError } from '../calls/match.js';
import { PasswordHasherBusyError } from '../security/password-admission.js';

export const OK = 'ok';
export const INTERNAL = 'internal';

/** The outcome of a call that succeeded (`failed` false) or failed with `error`. */
export function outcomeOf(failed: boolean, error: unknown): string {
  if (!failed) return OK;
  if (isClientSafeError(error)) return String(error.error);
  if (error instanceof MatchError) return String(catalogueError('matchFailed').error);
  // The bcrypt pool past its queue's bounds: the client got too-many-requests (wire-errors.ts).
  if (error instanceof PasswordHasherBusyError) return METHOD_ERRORS.tooManyRequests.error;
  return INTERNAL;
}

/** The label of a method name: registered names only, so a client cannot grow the label set. */
export const UNKNOWN_METHOD = '(unknown)';
