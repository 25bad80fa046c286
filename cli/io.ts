/**
 * What a command may touch of the outside world, in one object, so commands never reach for
 * `process` directly and could run in-process under a test.
 * @module
 */

/** The environment of one CLI run. */
export interface CliIo {
  /** Environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory relative paths are resolved against. */
  readonly cwd: string;
  /** Prints a line of results (stdout). */
  out(line: string): void;
  /** Prints a line of diagnostics (stderr). */
  err(line: string): void;
  /** Prints a question without a line break (stderr), before reading an answer. */
  ask(text: string): void;
  /** Whether stderr is a terminal (live progress rewrites one line there; otherwise it prints plain lines). */
  readonly errIsTTY?: boolean;
  /** Standard input (read for `--password-stdin` and prompts). */
  readonly stdin: NodeJS.ReadStream;
  /** Ends the process with a status: the last step of a shutdown. */
  exit(code: number): void;
  /** Runs `handler` on SIGINT and SIGTERM. */
  onSignal(handler: (signal: NodeJS.Signals) => void): void;
}

/** The real process. */
export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    ask: (text) => void process.stderr.write(text),
    errIsTTY: process.stderr.isTTY === true,
    stdin: process.stdin,
    exit: (code) => process.exit(code),
    onSignal: (handler) => {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
    },
  };
}
