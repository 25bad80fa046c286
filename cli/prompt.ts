/**
 * Getting a password without putting it on the command line (where `ps` and shell history
 * show it): from standard input (`--password-stdin`) or a prompt that does not echo.
 * @module
 */
import { CliError, EXIT } from './exit-status.js';
import type { CliIo } from './io.js';

/** Where a command's password comes from. */
export interface PasswordFlags {
  password?: string;
  passwordStdin?: boolean;
}

/**
 * The password of `--password`, else the first line of standard input with
 * `--password-stdin`, else a prompt (asked twice) when standard input is a terminal.
 * @throws CliError (exit status 2) when there is no way to get one.
 */
export async function obtainPassword(io: CliIo, flags: PasswordFlags, question: string): Promise<string> {
  if (flags.password !== undefined && flags.passwordStdin) {
    throw new CliError('Give the password either with --password or with --password-stdin, not both.', EXIT.usage);
  }
  if (flags.password !== undefined) return flags.password;
  if (flags.passwordStdin) return readFirstLine(io.stdin);
  if (!io.stdin.isTTY) {
    throw new CliError('No password given: pass --password <pw> or --password-stdin, or run the command in a terminal to be asked.', EXIT.usage);
  }
  const first = await askHidden(io, question);
  const second = await askHidden(io, 'Repeat it: ');
  if (first !== second) throw new CliError('The two passwords differ: run the command again.', EXIT.usage);
  return first;
}

/** Everything on standard input up to the first line break. */
async function readFirstLine(stdin: NodeJS.ReadStream): Promise<string> {
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) {
    text += chunk as string;
    if (/\r?\n/.test(text)) break;
  }
  return text.split(/\r?\n/, 1)[0] ?? '';
}

const ENTER = new Set(['\r', '\n']);
const BACKSPACE = new Set(['\u007f', '\b']);
const CANCEL = new Set(['\u0003', '\u0004']); // Ctrl-C, Ctrl-D

/**
 * Asks on stderr (stdout may be piped) and reads a line without echoing it (raw mode);
 * Ctrl-C or Ctrl-D rejects with 'Cancelled'. Standard input must be a terminal.
 */
export function askHidden(io: CliIo, question: string): Promise<string> {
  const { stdin } = io;
  // Echo off before the question shows: a person (or a test) typing as soon as it appears
  // would otherwise see the terminal echo the first keys.
  stdin.setRawMode(true);
  io.ask(question);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.ask('\n'); // the Enter key was not echoed either
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ENTER.has(ch)) {
          finish();
          resolve(chars.join(''));
          return;
        }
        if (CANCEL.has(ch)) {
          finish();
          reject(new CliError('Cancelled: nothing was changed.', EXIT.failure));
          return;
        }
        if (BACKSPACE.has(ch)) chars = chars.slice(0, -1);
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
