/**
 * The logger interface (pino-compatible call shape: an object of fields, then a message), a
 * small default that writes JSON lines to stderr, and a pino-backed logger for production
 * (`ddp-guard serve` uses it).
 */
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** Whether lines of `level` are written (pino has it); lets hot paths skip building fields. */
  isLevelEnabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Turn an Error into loggable fields (the stack stays on the server). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { err: { type: err.name, message: err.message, stack: err.stack } };
  return { err: { message: String(err) } };
}

/** A JSON-lines logger. `write` defaults to stderr. */
export function createJsonLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const min = RANK[level];
  const log = (lvl: Exclude<LogLevel, 'silent'>) => (fields: Record<string, unknown>, message: string): void => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg: message, ...fields }) + '\n');
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), isLevelEnabled: (lvl) => RANK[lvl] >= min };
}

/** Discards everything. */
export const silentLogger: Logger = createJsonLogger('silent');

/**
 * Field paths pino censors in every line, whatever logged them. A second line of defence: log
 * lines are built from whitelisted fields, and parameters and results are never logged.
 */
export const REDACTED_PATHS: readonly string[] = Object.freeze([
  'password', '*.password',
  '*.code',
  'token', '*.token',
  'secret', '*.secret',
  'twoFactorCode', '*.twoFactorCode',
  'authorization', '*.authorization',
  '["x-auth-token"]', '*["x-auth-token"]',
  '["x-2fa-code"]', '*["x-2fa-code"]',
]);

export interface PinoLoggerOptions {
  /** The lowest level written. @default 'info' */
  level?: LogLevel;
  /** Where lines go (anything with `write(line)`). @default stderr, written synchronously */
  destination?: pino.DestinationStream;
}

/**
 * A pino logger: one JSON object per line with `level` (as a name), `time` (ISO 8601), `pid`,
 * `hostname` and `msg`, and {@link REDACTED_PATHS} censored.
 */
export function createPinoLogger(options: PinoLoggerOptions = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, options.destination ?? pino.destination({ dest: 2, sync: true }));
}
