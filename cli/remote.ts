/**
 * What the client commands (`call`, `shell`, `script`) share: the login and two-factor flags,
 * connecting and logging in to a server, turning client failures into exit statuses, and where a
 * two-factor code comes from (a flag, an authenticator secret, or a question in a terminal).
 * @module
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createNodeClient, DdpError, sha256Hex, type DdpClient, type TwoFactorChallenge, type TwoFactorHandler } from '../client/node.js';
import { isTwoFactorMethod, type TwoFactorMethod } from '../protocol/index.js';
import { CliError, EXIT } from './exit-status.js';
import type { CliIo } from './io.js';
import { TotpCodes } from './script/totp-codes.js';
import { askHidden } from './prompt.js';
import { formatDdpError, parseTimeout, twoFactorAdvice, webSocketUrl } from './values.js';

/** Exit status of `call`, `shell` and `script` when the server cannot be reached or is lost. */
export const EXIT_CONNECTION = EXIT.connection;

/** Asks a person a question; `hidden`: do not echo the answer (a password). Rejects when cancelled. */
export type Ask = (question: string, hidden?: boolean) => Promise<string>;

/** How the remote commands log in and answer two-factor challenges. */
export interface RemoteFlags {
  user?: string;
  password?: string;
  token?: string;
  code?: string;
  totpSecret?: string;
  method?: string;
  timeout?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The login and two-factor flags of `call` and `shell`. */
export function withRemoteFlags(command: Command): Command {
  return command
    .option('--user <user>', 'log in first: username, or email when it contains @ (with --password)')
    .option('--password <password>', 'the password of --user (visible to other local users in the process list; leave it out to be asked in a terminal)')
    .option('--token <token>', 'log in first with a resume token or a personal access token')
    .option('--totp-secret <base32>', 'answer TOTP challenges with codes computed from this authenticator secret')
    .option('--method <factor>', 'the second factor to use: totp, email or password (default: the one the server asks for)')
    .option('--timeout <ms>', `give up on the connection or a call after this long (default ${DEFAULT_TIMEOUT_MS})`);
}

/** Options of {@link openRemote}. */
export interface OpenOptions {
  /** Reconnect after a drop (the shell) or fail (a single call). */
  reconnect: boolean;
  /** Asks a question and resolves with the answer; undefined when nobody can answer. */
  ask: Ask | undefined;
  /** See {@link CodeSources.hint}. */
  hint?: (factor: TwoFactorMethod) => string;
  /** Asks for the password of `--user` without echoing it; undefined when nobody can answer. */
  askPassword?: ((question: string) => Promise<string>) | undefined;
}

/** Connects to `urlText` and logs in as the flags say. @throws CliError (2 usage, 5 connection, 1 login). */
export async function openRemote(urlText: string, flags: RemoteFlags, options: OpenOptions): Promise<DdpClient> {
  const url = webSocketUrl(urlText);
  const timeoutMs = flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTimeout(flags.timeout);
  checkLoginFlags(flags, options.askPassword !== undefined);
  const client = createNodeClient(url, {
    reconnect: options.reconnect,
    connectTimeoutMs: timeoutMs,
    callTimeoutMs: timeoutMs,
    onTwoFactorRequired: twoFactorHandler({ ...flags, ask: options.ask, ...(options.hint ? { hint: options.hint } : {}) }),
  });
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw new CliError(`Cannot connect to ${url} (${connectFailure(err)}): check the address and that the server is running.`, EXIT_CONNECTION);
  }
  try {
    if (flags.user !== undefined) {
      const user = flags.user;
      // Asked once connected: a wrong address fails before anyone types a password.
      const password = flags.password ?? (await options.askPassword!(`Password for ${user}: `));
      await remote(() => client.loginWithPassword(user, password), 'Login failed');
    }
    else if (flags.token !== undefined) await remote(() => client.loginWithToken(flags.token!), 'Login failed');
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

/** Why the connection failed, without the client's own "Could not connect to <url>" preamble. */
function connectFailure(err: unknown): string {
  if (err instanceof DdpError) {
    const details = (typeof err.details === 'object' && err.details !== null ? err.details : {}) as { code?: unknown; reason?: unknown };
    if (typeof details.reason === 'string' && details.reason !== '') return details.reason;
    if (typeof details.code === 'number') return `the socket closed with code ${details.code}`;
    return err.reason ?? String(err.error);
  }
  return err instanceof Error ? err.message : String(err);
}

function checkLoginFlags(flags: RemoteFlags, canAsk: boolean): void {
  if (flags.user !== undefined && flags.token !== undefined) throw new CliError('Log in either with --user and --password or with --token, not both.', EXIT.usage);
  if (flags.user === undefined && flags.password !== undefined) throw new CliError('--password goes with --user.', EXIT.usage);
  if (flags.user !== undefined && flags.password === undefined && !canAsk) {
    throw new CliError('--user needs --password when standard input is not a terminal (in a terminal the password is asked for).', EXIT.usage);
  }
  if (flags.method !== undefined && (!isTwoFactorMethod(flags.method) || flags.method === 'passkey')) {
    throw new CliError(`--method must be totp, email or password (a passkey needs a browser); got '${flags.method}'.`, EXIT.usage);
  }
}

/**
 * Runs a client operation and turns its failure into a CliError: connection trouble exits 5,
 * anything the server answered exits 1 with `error [code]: reason` and the details.
 */
export async function remote<T>(operation: () => Promise<T>, prefix?: string): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (err instanceof DdpError) {
      const status = CONNECTION_ERRORS.has(String(err.error)) ? EXIT_CONNECTION : EXIT.failure;
      throw new CliError(prefix === undefined ? formatDdpError(err) : `${prefix}: ${formatDdpError(err)}`, status);
    }
    if (err instanceof TypeError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/** The client's errors that mean the server is out of reach. */
const CONNECTION_ERRORS: ReadonlySet<string> = new Set(['connect-failed', 'connection-lost', 'version-mismatch']);

// ---- two-factor codes ---------------------------------------------------------------------

/** Where codes come from. */
export interface CodeSources {
  code?: string;
  totpSecret?: string;
  method?: string;
  ask?: Ask | undefined;
  /** What to tell the user when no code can be had, per factor. @default pass --code or --totp-secret */
  hint?: (factor: TwoFactorMethod) => string;
}

/** The advice of `call` when it cannot get a code. */
function callHint(factor: TwoFactorMethod): string {
  return `pass --code <code>${factor === 'totp' ? ' or --totp-secret <base32>' : ''}, or run the command in a terminal to be asked`;
}

/**
 * Answers the client's two-factor challenges: `--code` once, then codes from `--totp-secret`
 * (for TOTP), then the prompt. With none left, the last server error stands (after a wrong
 * code), or the user is told what to pass.
 */
export function twoFactorHandler(sources: CodeSources, totp = new TotpCodes()): TwoFactorHandler {
  let codeUsed = false;
  return async (challenge) => {
    const { details } = challenge;
    const chosen = isTwoFactorMethod(sources.method) ? sources.method : undefined;
    const preferred: TwoFactorMethod = chosen ?? (sources.totpSecret !== undefined && details.availableMethods.includes('totp') ? 'totp' : details.method);
    // A passkey answers only in a browser (WebAuthn): the terminal offers the user's other factors.
    const factor = preferred === 'passkey' ? terminalFactor(challenge) : preferred;
    // Switching to email codes: an empty answer naming email makes the server send one, then ask.
    if (preferred === 'passkey' && factor === 'email') return { code: '', method: 'email' };
    if (sources.code !== undefined && !codeUsed) {
      codeUsed = true;
      return { code: codeFor(factor, sources.code), method: factor };
    }
    if (sources.totpSecret !== undefined && factor === 'totp') {
      try {
        return { code: totp.next(sources.totpSecret), method: factor };
      } catch (err) {
        throw new CliError(`--totp-secret: ${(err as Error).message}.`, EXIT.usage);
      }
    }
    if (sources.ask) {
      const answer = (await sources.ask(question(factor, challenge), factor === 'password')).trim();
      return answer === '' ? null : { code: codeFor(factor, answer), method: factor };
    }
    if (challenge.isRetryAfterInvalid) throw challenge.error;
    const what = factor === 'password' ? 'the password as a second check' : `a two-factor code (${factor})`;
    throw new CliError(
      `'${challenge.method}' needs ${what}: ${(sources.hint ?? callHint)(factor)}.`,
      EXIT.usage,
    );
  };
}

/**
 * The factor a terminal can answer when the server asks for a passkey: the user's next factor
 * (TOTP, then email), or an error saying the passkey needs a browser.
 */
function terminalFactor(challenge: TwoFactorChallenge): TwoFactorMethod {
  const other = challenge.details.availableMethods.find((m) => m !== 'passkey' && m !== 'password');
  if (other !== undefined) return other;
  throw new CliError(
    `'${challenge.method}' asks for a passkey, which needs a browser (WebAuthn): sign in on the account page, or add an authenticator app or email codes to answer from a terminal.`,
    EXIT.failure,
  );
}

/** The password factor wants the sha-256 hex digest: a typed password is hashed. */
function codeFor(factor: TwoFactorMethod, code: string): string {
  return factor === 'password' && !/^[0-9a-f]{64}$/i.test(code) ? sha256Hex(code) : code;
}

function question(factor: TwoFactorMethod, challenge: TwoFactorChallenge): string {
  // A code refused as already used says how long until the next one; any other refusal, that it was refused.
  const advice = twoFactorAdvice(challenge.error);
  const again = advice !== '' ? `${advice} ` : challenge.isRetryAfterInvalid ? 'That code was not accepted. ' : '';
  switch (factor) {
    case 'totp':
      return `${again}Enter the code from your authenticator app (or a backup code): `;
    case 'email': {
      const to = challenge.details.emailOrUsername;
      return `${again}Enter the code sent to your email${to === undefined ? '' : ` (${to})`}: `;
    }
    case 'password':
      return `${again}Enter your password to confirm: `;
    case 'passkey':
      return `${again}A passkey needs a browser: `;
  }
}

/**
 * A one-line question on stderr, answered on standard input (without echo when `hidden`: the
 * password fallback); undefined when standard input is not a terminal.
 */
export function terminalAsk(io: CliIo): Ask | undefined {
  if (!io.stdin.isTTY) return undefined;
  return (text, hidden) =>
    hidden ? askHidden(io, text) : new Promise((resolve, reject) => {
      io.ask(text);
      const rl = createInterface({ input: io.stdin, terminal: false });
      let answered = false;
      rl.once('line', (line) => {
        answered = true;
        rl.close();
        resolve(line);
      });
      rl.once('close', () => {
        if (!answered) reject(new CliError('Cancelled: no code was entered.', EXIT.failure));
      });
    });
}
