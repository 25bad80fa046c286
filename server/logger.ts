/**
 * The logger interface (pino-compatible call shape: an object of fields, then a message) and a
 * small default that writes JSON lines to stderr.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
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
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Discards everything. */
export const silentLogger: Logger = createJsonLogger('silent');
