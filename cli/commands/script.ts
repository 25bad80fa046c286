/**
 * `ddp-guard script <file> --url <url>`: runs a transcript of DDP messages to send and to
 * expect against any DDP server (the format is described in `../script/parser.ts`), prints a
 * line per step and exits 0 when every expectation matched, 1 otherwise, 2 for a transcript
 * that does not parse and 5 when the server cannot be reached.
 *
 * Like `call` and `shell`, this command is a client of a server, not part of one: the
 * `ddp-guard` binary is the one place that ships both sides (see
 * test/architecture/layers.test.ts for the exception this needs).
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { parseTranscript, TranscriptSyntaxError } from '../script/parser.js';
import { runTranscript } from '../script/runner.js';
import { TranscriptSocket } from '../script/socket.js';
import { isVariableName } from '../script/template.js';
import { EXIT_CONNECTION } from '../remote.js';
import { parseTimeout, webSocketUrl } from '../values.js';

/** The flags of `script`. */
interface ScriptFlags {
  url: string;
  timeout?: string;
  var?: string[];
}

const DEFAULT_TIMEOUT_MS = 5000;

const HELP_AFTER = `
A transcript has one step per line ('#' starts a comment):
  > {"msg":"connect","version":"1","support":["1"]}     send a message (the transcript sends connect itself)
  < {"msg":"connected","session":"{{=session}}"}        expect a message matching this pattern, capture session
  < {"msg":"result","id":"1","result":"ok*"}            '*' in a string is a wildcard; "*" alone matches anything
  sleep 500                                             wait 500 ms
  set user=alice                                        set a variable
Placeholders in JSON strings: {{name}} (a variable), "{{=name}}" (capture, in '<' lines),
{{totp:BASE32SECRET}} or {{totp:{{secret}}}} (the current TOTP code).
Fields of a pattern must be in the message; extra fields are allowed. Messages that match
nothing wait in a backlog that later expectations search first; pings are answered.

Exit status: 0 every expectation matched, 1 a mismatch, 2 a bad transcript or option,
5 the server cannot be reached.`;

/** Adds `script` to the program. */
export function registerScript(program: Command, io: CliIo): void {
  program
    .command('script <file>')
    .description('run a transcript of DDP messages to send and expect against any DDP server (for testers)')
    .requiredOption('--url <url>', 'the server: ws://host:port/websocket, ws://host:port or http://host:port')
    .option('--timeout <ms>', `how long each expectation waits (default ${DEFAULT_TIMEOUT_MS})`)
    .option('--var <name=value>', 'set a variable (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string, flags: ScriptFlags) => runScript(file, flags, io));
}

async function runScript(file: string, flags: ScriptFlags, io: CliIo): Promise<void> {
  const url = webSocketUrl(flags.url);
  const timeoutMs = flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTimeout(flags.timeout);
  const variables = parseVariables(flags.var ?? []);
  const absolute = path.resolve(io.cwd, file);
  const steps = parseFile(absolute);
  let socket: TranscriptSocket;
  try {
    socket = await TranscriptSocket.open(url, timeoutMs);
  } catch (err) {
    throw new CliError(`Cannot connect to ${url} (${(err as Error).message}): check --url and that the server is running.`, EXIT_CONNECTION);
  }
  io.out(`Running ${absolute} against ${url}`);
  try {
    const result = await runTranscript(steps, socket, { timeoutMs, variables, print: (line) => io.out(line) });
    if (result.failed > 0) {
      throw new CliError(`${result.failed} step${result.failed === 1 ? '' : 's'} of ${path.basename(absolute)} failed.`, EXIT.failure);
    }
  } finally {
    socket.close();
  }
}

function parseFile(absolute: string): ReturnType<typeof parseTranscript> {
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new CliError(`Cannot read the transcript ${absolute} (${reason}).`, EXIT.usage);
  }
  try {
    return parseTranscript(text);
  } catch (err) {
    if (err instanceof TranscriptSyntaxError) throw new CliError(`${absolute}:${err.line}: ${err.detail}; nothing was run.`, EXIT.usage);
    throw err;
  }
}

function parseVariables(specs: readonly string[]): Map<string, unknown> {
  const variables = new Map<string, unknown>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? '' : spec.slice(0, eq);
    if (!isVariableName(name)) throw new CliError(`--var takes name=value, the name being letters, digits, '_', '.' or '-'; got '${spec}'.`, EXIT.usage);
    variables.set(name, spec.slice(eq + 1));
  }
  return variables;
}
