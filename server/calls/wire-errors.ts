/**
 * Turning exceptions into what the client may see: client-safe errors pass as they are, a
 * `MatchError` becomes 400 `Match failed`, a store that is busy, locked or unreachable becomes
 * 503 (retry later), anything else is logged and sent as 500.
 */
import { DdpError, METHOD_ERRORS, catalogueError, isClientSafeError, type WireError } from '../../protocol/errors.js';
import { MatchError } from './match.js';
import { errorFields, type Logger } from '../runtime/logger.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { PasswordHasherBusyError } from '../security/password-admission.js';

export { DdpError };

/**
 * What a client gets when the store stayed busy or locked past its bounded wait, or cannot be
 * reached: the write that failed did not happen, and the call may be retried.
 */
export const STORE_UNAVAILABLE = Object.freeze({ error: METHOD_ERRORS.storeUnavailable.error, reason: METHOD_ERRORS.storeUnavailable.reason });

/** The wire error for `err`; logs it when it is not client-safe. */
export function toWireError(err: unknown, logger: Logger, context: Record<string, unknown>): WireError {
  if (err instanceof DdpError) return err.toWire();
  if (isClientSafeError(err)) return new DdpError(err.error, err.reason, err.details).toWire();
  if (err instanceof MatchError) {
    logger.debug({ ...context, path: err.path, why: err.why }, 'parameters failed validation');
    return catalogueError('matchFailed').toWire();
  }
  if (err instanceof PasswordHasherBusyError) {
    // The bcrypt pool is past its queue's bounds: the check was not made (nor counted as a guess).
    logger.debug({ ...context, retryAfterMs: err.retryAfterMs }, err.message);
    return passwordsBusyError(err).toWire();
  }
  if (err instanceof StoreUnavailableError) {
    logger.error({ ...context, ...errorFields(err) }, 'the store is unavailable; the call was refused with 503');
    return catalogueError('storeUnavailable').toWire();
  }
  logger.error({ ...context, ...errorFields(err) }, 'internal error in a method or publication');
  return catalogueError('internal').toWire();
}

/** Rocket.Chat's `too-many-requests`, with `details.timeToReset` in ms, for a refused password check. */
export function passwordsBusyError(err: PasswordHasherBusyError): DdpError {
  return catalogueError('tooManyRequests', Math.ceil(err.retryAfterMs / 1000), { timeToReset: err.retryAfterMs });
}
