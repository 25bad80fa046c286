/**
 * Turning exceptions into what the client may see: client-safe errors pass as they are, a
 * `MatchError` becomes 400 `Match failed`, anything else is logged and sent as 500.
 */
import { DdpError, catalogueError, isClientSafeError, type WireError } from '../protocol/errors.js';
import { MatchError } from './match.js';
import { errorFields, type Logger } from './logger.js';

export { DdpError };

/** The wire error for `err`; logs it when it is not client-safe. */
export function toWireError(err: unknown, logger: Logger, context: Record<string, unknown>): WireError {
  if (err instanceof DdpError) return err.toWire();
  if (isClientSafeError(err)) return new DdpError(err.error, err.reason, err.details).toWire();
  if (err instanceof MatchError) {
    logger.debug({ ...context, path: err.path, why: err.why }, 'parameters failed validation');
    return catalogueError('matchFailed').toWire();
  }
  logger.error({ ...context, ...errorFields(err) }, 'internal error in a method or publication');
  return catalogueError('internal').toWire();
}
