/**
 * `ddp-guard shell <url>`: an interactive DDP session on any server. One command per line
 * (`.login`, `.token`, `.call`, `.sub`, `.unsub`, `.logout`, `.help`, `.exit`), line editing
 * and history in a terminal, results as indented EJSON, and subscription changes printed as
 * they arrive (`+ users abc {...}`, `~ ...`, `- ...`). Two-factor challenges are answered as
 * in `call`: `--totp-secret`, else a prompt. With standard input piped, the lines are run in
 * order without prompts, which makes the shell scriptable too.
 *
 * Like `call`, this is a client shipped in the server's binary (see `call.ts`).
 * @module
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { DdpClient, SubscriptionHandle } from '../../client/node.js';
import type { TwoFactorMethod } from '../../protocol/index.js';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { openRemote, remote, withRemoteFlags, type Ask, type RemoteFlags } from '../remote.js';
import { CODE_METHODS, decodeParam, formatCompact, formatDdpError, formatValue } from '../values.js';

const HELP = `Commands:
  .login <user> [password]   log in (user: username, or email when it contains @); without
                             a password, it is asked for without echo
  .token <token>             log in with a resume token or a personal access token
  .call <method> [params...] call a method; params are EJSON ('{"a":1}', 42, "text") or words
  .sub <name> [params...]    subscribe; documents are printed as they change (+ added, ~ changed, - removed)
  .unsub <id>                stop a subscription
  .logout                    log out
  .help                      this text
  .exit                      leave (or Ctrl-D)`;

/** Adds `shell` to the program. */
export function registerShell(program: Command, io: CliIo): void {
  withRemoteFlags(program.command('shell <url>'))
    .description('an interactive DDP session: log in, call methods, watch subscriptions')
    .addHelpText('after', `\n${HELP}\n\nExit status: 0 when the shell ends, 2 bad command line, 5 cannot reach the server.`)
    .action(async (url: string, flags: RemoteFlags) => runShell(io, url, flags));
}

/** The advice of the shell when it cannot get a code (standard input is not a terminal). */
function shellHint(factor: TwoFactorMethod): string {
  return `${factor === 'totp' ? 'start the shell with --totp-secret <base32>, or ' : ''}run the shell in a terminal to be asked`;
}

/** A parsed command-line argument: quoted ones are strings whatever they hold. */
export interface Word {
  text: string;
  quoted: boolean;
}

/**
 * Splits the arguments of a shell line: JSON objects and arrays (spaces allowed inside),
 * "JSON strings", 'single-quoted text', and bare words.
 * @throws CliError when a quote or bracket is not closed.
 */
export function splitWords(line: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    if (/\s/.test(line[i]!)) {
      i += 1;
      continue;
    }
    const start = i;
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CliError(`Unclosed ' in: ${line.slice(start)}`, EXIT.usage);
      words.push({ text: line.slice(i + 1, end), quoted: true });
      i = end + 1;
      continue;
    }
    if (c === '"' || c === '{' || c === '[') {
      i = endOfJson(line, i);
      const text = line.slice(start, i);
      words.push(c === '"' ? { text: JSON.parse(text) as string, quoted: true } : { text, quoted: false });
      continue;
    }
    while (i < line.length && !/\s/.test(line[i]!)) i += 1;
    words.push({ text: line.slice(start, i), quoted: false });
  }
  return words;
}

/** The index just past the JSON string, object or array starting at `start`. */
function endOfJson(line: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < line.length; i += 1) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  throw new CliError(`Unclosed ${line[start] === '"' ? 'string' : 'bracket'} in: ${line.slice(start)}`, EXIT.usage);
}

/** Parameters from words: quoted words are strings, others EJSON or plain words (as `call` reads them for `method`). */
function paramsOf(words: readonly Word[], method = ''): unknown[] {
  const digitsAsText = CODE_METHODS.has(method);
  return words.map((w, i) => (w.quoted ? w.text : decodeParam(w.text, `parameter ${i + 1}`, { digitsAsText })));
}

async function runShell(io: CliIo, url: string, flags: RemoteFlags): Promise<void> {
  const interactive = io.stdin.isTTY === true;
  // Prompts and line editing go to stderr, like every question of the CLI; results to stdout.
  // Muted while a password is typed: readline echoes keystrokes through this stream.
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (!muted) io.ask(String(chunk));
      done();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: interactive, historySize: 1000, removeHistoryDuplicates: true, prompt: 'ddp> ' });
  // Taken now so that lines piped in while connecting are buffered, not lost.
  const lines = rl[Symbol.asyncIterator]();
  let waiting = false;
  /** Prints a line without breaking the prompt the user may be typing at. */
  const print = (line: string, toErr = false): void => {
    if (waiting) io.ask('\r\x1b[K');
    if (toErr) io.err(line);
    else io.out(line);
    if (waiting) rl.prompt(true);
  };
  // The question being asked (a code, a password), so that Ctrl-C can cancel it.
  let asking: AbortController | null = null;
  const ask: Ask | undefined = interactive
    ? (question, hidden) => new Promise<string>((resolve, reject) => {
      const controller = new AbortController();
      asking = controller;
      const done = (): void => {
        asking = null;
        if (hidden) {
          muted = false;
          io.ask('\n'); // the Enter key was not echoed either
        }
      };
      controller.signal.addEventListener('abort', () => {
        done();
        if (!hidden) io.ask('\n');
        reject(new CliError('Cancelled.', EXIT.failure));
      }, { once: true });
      // readline keeps the terminal in raw mode and echoes through `output`: muted, nothing shows.
      if (hidden) io.ask(question);
      muted = hidden === true;
      rl.question(hidden ? '' : question, { signal: controller.signal }, (answer) => {
        done();
        resolve(answer);
      });
    })
    : undefined;
  let client: DdpClient;
  try {
    client = await openRemote(url, flags, { reconnect: true, ask, hint: shellHint, askPassword: ask && ((question) => ask(question, true)) });
  } catch (err) {
    rl.close();
    throw err;
  }
  const shell = new Shell(client, print, ask);
  const who = client.userId === undefined ? '' : ` as ${flags.user ?? `user ${client.userId}`}`;
  if (interactive) io.err(`Connected to ${url}${who}. Type .help for the commands.`);
  rl.on('SIGINT', () => {
    // At a question (a code, a password): cancel it; the command fails and the shell goes on.
    if (asking) asking.abort();
    else if (rl.line === '') rl.close();
    else {
      // Like node's REPL: Ctrl-C drops the line being typed.
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
    }
  });
  const prompt = (): void => {
    if (!interactive) return;
    waiting = true;
    rl.prompt();
  };
  try {
    prompt();
    for await (const line of lines) {
      waiting = false;
      if (!(await shell.run(line.trim()))) break;
      prompt();
    }
  } finally {
    waiting = false;
    shell.closing = true;
    rl.close();
    client.close();
  }
}

/** The commands of one shell session. */
class Shell {
  /** Set when the shell ends: what closing the client reports (stopped subscriptions, the disconnect) is not news. */
  closing = false;
  readonly #subs = new Map<string, SubscriptionHandle>();
  readonly print: (line: string, toErr?: boolean) => void;

  constructor(
    private readonly client: DdpClient,
    printLine: (line: string, toErr?: boolean) => void,
    private readonly ask: Ask | undefined,
  ) {
    this.print = (line, toErr) => {
      if (!this.closing) printLine(line, toErr);
    };
    const print = this.print;
    client.on('added', (e) => print(`+ ${e.collection} ${e.id} ${formatCompact(e.fields)}`));
    client.on('changed', (e) => print(`~ ${e.collection} ${e.id} ${formatCompact(e.fields)}${e.cleared.length > 0 ? ` cleared: ${e.cleared.join(', ')}` : ''}`));
    client.on('removed', (e) => print(`- ${e.collection} ${e.id}`));
    client.on('disconnected', (info) => print(`! disconnected (code ${info.code}); reconnecting...`, true));
    client.on('connected', (session) => print(`! connected again (session ${session})`, true));
  }

  /** Runs one line; false when the shell should end. */
  async run(line: string): Promise<boolean> {
    if (line === '') return true;
    const [command = '', ...rest] = line.split(/\s+/);
    const args = line.slice(command.length).trim();
    try {
      switch (command) {
        case '.exit':
        case '.quit':
          return false;
        case '.help':
          this.print(HELP);
          return true;
        case '.login':
          await this.#login(args);
          return true;
        case '.token':
          await this.#token(rest);
          return true;
        case '.logout':
          await remote(() => this.client.logout());
          this.print('Logged out.');
          return true;
        case '.call':
          await this.#call(args);
          return true;
        case '.sub':
          this.#subscribe(args);
          return true;
        case '.unsub':
          this.#unsubscribe(rest);
          return true;
        default:
          this.print(`Unknown command '${command}': type .help for the commands.`, true);
          return true;
      }
    } catch (err) {
      this.print(err instanceof CliError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`, true);
      return true;
    }
  }

  async #login(args: string): Promise<void> {
    const words = splitWords(args);
    if (words.length !== 2 && !(words.length === 1 && this.ask)) throw new CliError(`Usage: .login <user> ${this.ask ? '[password]' : '<password>'}`, EXIT.usage);
    const user = words[0]!.text;
    const password = words[1]?.text ?? (await this.ask!(`Password for ${user}: `, true));
    const result = await remote(() => this.client.loginWithPassword(user, password));
    this.print(`Logged in as ${user} (id ${result.id}).`);
  }

  async #token(rest: readonly string[]): Promise<void> {
    if (rest.length !== 1) throw new CliError('Usage: .token <token>', EXIT.usage);
    const result = await remote(() => this.client.loginWithToken(rest[0]!));
    this.print(`Logged in with the token (user id ${result.id}).`);
  }

  async #call(args: string): Promise<void> {
    const [method, ...params] = splitWords(args);
    if (!method) throw new CliError('Usage: .call <method> [params...]', EXIT.usage);
    const values = paramsOf(params, method.text);
    // A failure (error, reason and details) is printed by run() and the shell goes on.
    const result = await remote(() => this.client.apply(method.text, values));
    this.print(formatValue(result));
  }

  #subscribe(args: string): void {
    const [name, ...params] = splitWords(args);
    if (!name) throw new CliError('Usage: .sub <name> [params...]', EXIT.usage);
    const handle = this.client.subscribeWith(name.text, paramsOf(params), {
      onReady: () => this.print(`ready ${handle.id} (${name.text})`),
      onStop: (error) => {
        this.#subs.delete(handle.id);
        this.print(error ? `nosub ${handle.id} (${name.text}): ${formatDdpError(error)}` : `stopped ${handle.id} (${name.text})`, error !== undefined);
      },
    });
    this.#subs.set(handle.id, handle);
    this.print(`sub ${handle.id} (${name.text})`);
  }

  #unsubscribe(rest: readonly string[]): void {
    if (rest.length !== 1) throw new CliError('Usage: .unsub <id>', EXIT.usage);
    const handle = this.#subs.get(rest[0]!);
    if (!handle) {
      const known = [...this.#subs.keys()];
      throw new CliError(`No subscription '${rest[0]!}'${known.length > 0 ? ` (active: ${known.join(', ')})` : ''}.`, EXIT.usage);
    }
    handle.stop();
  }
}
