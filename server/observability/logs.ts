/**
 * Structured log lines for method calls and connections. Fields are whitelisted here, one by
 * one: parameters, results, headers and error details never reach a line, so no code, token or
 * password can (pino's `redact` is only the second line of defence).
 */
import type { Caller } from '../calls/caller.js';
import type { MethodObserver, ObservedCall } from '../calls/dispatcher.js';
import { errorFields, type Logger } from '../runtime/logger.js';
import { INTERNAL, OK, outcomeOf } from './outcome.js';
import { monotonicNow } from '../ddp/sweeper.js';

/** Longest method name written to a log line (an unknown name comes from the client). */
const MAX_NAME = 120;

/** The line fields that say who called: connection id, client address, user id, transport. */
export function callerFields(caller: Caller, userId: string | null = caller.userId): Record<string, unknown> {
  return {
    transport: caller.transport,
    connectionId: caller.connection?.id ?? null,
    clientAddress: caller.connection?.clientAddress ?? null,
    userId,
  };
}

/**
 * One line per call when it ends: `method`, `durationMs`, `outcome` (`ok`, the client error
 * code, or `internal` with `errorType`), and the caller's fields. Internal errors at `error`,
 * every other call at `debug`: a line per call at `info` cost more CPU than the call itself
 * and filled disks under load (metrics count every call; security events have their own
 * summarised lines, see `security-log.ts`).
 */
export function methodLogObserver(logger: Logger): MethodObserver {
  return {
    started(): void {
      // Nothing to log until the outcome is known.
    },
    finished(call: ObservedCall, failed: boolean, error: unknown, durationMs: number): void {
      const outcome = outcomeOf(failed, error);
      // Calls are logged at debug: skip building the line when it goes nowhere.
      if (outcome !== INTERNAL && logger.isLevelEnabled?.('debug') === false) return;
      const fields: Record<string, unknown> = {
        event: 'method',
        method: call.name.length > MAX_NAME ? `${call.name.slice(0, MAX_NAME)}…` : call.name,
        ...callerFields(call.caller, call.userIdAtEnd ?? call.userIdAtStart),
        durationMs: Math.round(durationMs * 1000) / 1000,
        outcome,
      };
      if (call.nested) fields.nested = true;
      if (outcome === INTERNAL) {
        fields.errorType = error instanceof Error ? error.name : typeof error;
        // A top-level DDP or HTTP call's error, with its stack, is logged once by the transport
        // (`internal error in a method or publication`, with the same connectionId and method);
        // nobody else logs a nested or in-process call's, which its caller may swallow.
        const own = call.nested || call.caller.transport === 'internal' ? errorFields(error) : {};
        logger.error({ ...fields, ...own }, `method ${String(fields.method)} failed with an internal error`);
      } else if (call.nested) {
        logger.debug(fields, `method ${String(fields.method)} (nested) ${outcome}`);
      } else {
        logger.debug(fields, outcome === OK ? `method ${String(fields.method)} ok` : `method ${String(fields.method)} refused: ${outcome}`);
      }
    },
  };
}

/** What the connection lines read from a session. */
export interface ObservedSession extends Caller {
  readonly connection: NonNullable<Caller['connection']>;
  /** When the socket was accepted ({@link monotonicNow} ms). */
  readonly openedAt: number;
}

/** `connection opened` / `connection closed` lines at `debug` (with how long it lasted and the last user). */
export function connectionLogger(logger: Logger): { opened(session: ObservedSession): void; closed(session: ObservedSession): void } {
  return {
    opened(session) {
      if (logger.isLevelEnabled?.('debug') === false) return;
      logger.debug({
        event: 'connection-open',
        ...callerFields(session),
        userAgent: session.connection.httpHeaders['user-agent'] ?? null,
      }, 'connection opened');
    },
    closed(session) {
      if (logger.isLevelEnabled?.('debug') === false) return;
      logger.debug({
        event: 'connection-close',
        ...callerFields(session),
        durationMs: Math.round(monotonicNow() - session.openedAt),
      }, 'connection closed');
    },
  };
}
