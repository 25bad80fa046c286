/**
 * What `call` and `shell` read and print: server addresses, timeouts, parameters (EJSON or
 * words) and results and errors as EJSON text. Protocol only; no client or server code.
 * @module
 */
import { decode, encode, type DdpError } from '../protocol/index.js';
import { CliError, EXIT } from './exit-status.js';

/**
 * The WebSocket URL of a server address: `ws(s)://host:port/path` as given (`/websocket` when
 * there is no path), `http(s)://host:port[/prefix]` as Meteor reads it (`ws(s)://…/prefix/websocket`),
 * and a bare `host:port` as `ws://host:port/websocket`.
 * @throws CliError (exit status 2) for anything else.
 */
export function webSocketUrl(text: string): string {
  const input = /^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim()) ? text.trim() : `ws://${text.trim()}`;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw badUrl(text);
  }
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  if (!web && url.protocol !== 'ws:' && url.protocol !== 'wss:') throw badUrl(text);
  const scheme = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss' : 'ws';
  let pathname = url.pathname === '/' ? '' : url.pathname;
  if (pathname === '' || (web && !/\/websocket\/?$/.test(pathname))) pathname = `${pathname.replace(/\/$/, '')}/websocket`;
  return `${scheme}://${url.host}${pathname}${url.search}`;
}

function badUrl(text: string): CliError {
  return new CliError(`'${text}' is not a server address: use ws://host:port/websocket, ws://host:port or http://host:port.`, EXIT.usage);
}

/** A positive number of milliseconds. @throws CliError (exit status 2). */
export function parseTimeout(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) <= 0) throw new CliError(`--timeout takes a number of milliseconds above 0; got '${text}'.`, EXIT.usage);
  return Number(text);
}

/**
 * Methods whose parameters are codes people type: a word of digits stays text for them, since
 * a code is a string (`2fa:validateTempToken 540583` would otherwise send the number 540583,
 * which the server's parameter check refuses). Rocket.Chat's methods of the same names too.
 */
export const CODE_METHODS: ReadonlySet<string> = new Set(['2fa:validateTempToken', '2fa:disable', '2fa:regenerateCodes']);

/** Text that a person meant as JSON: an object, an array or a JSON string. */
const LOOKS_LIKE_JSON = /^\s*[[{"]/;

/** Options of {@link decodeParam}. */
export interface DecodeOptions {
  /** Keep a word of digits as text (the parameter is a code; see {@link CODE_METHODS}). */
  digitsAsText?: boolean;
}

/**
 * One parameter: EJSON when it is JSON, else the text itself.
 * @throws CliError (exit status 2) for text that starts like JSON (`{`, `[`, `"`) but is not
 *   valid JSON, and for JSON that is not valid EJSON: sending it as a string would hide the typo.
 */
export function decodeParam(text: string, what: string, options: DecodeOptions = {}): unknown {
  if (options.digitsAsText && /^[0-9]+$/.test(text)) return text;
  try {
    JSON.parse(text);
  } catch (err) {
    if (!LOOKS_LIKE_JSON.test(text)) return text;
    throw new CliError(`${what} starts like JSON but is not valid JSON (${(err as Error).message}): ${text}; fix it, or quote it to send it as text ('"…"').`, EXIT.usage);
  }
  try {
    return decode(text);
  } catch (err) {
    throw new CliError(`${what} is not valid EJSON (${(err as Error).message}): ${text}`, EXIT.usage);
  }
}

/** The parameters of `method`, one per argument. */
export function decodeParams(method: string, texts: readonly string[]): unknown[] {
  const digitsAsText = CODE_METHODS.has(method);
  return texts.map((text, i) => decodeParam(text, `parameter ${i + 1}`, { digitsAsText }));
}

/** A value as indented EJSON text (2 spaces). */
export function formatValue(value: unknown): string {
  const text = encode(value) as string | undefined;
  return text === undefined ? 'undefined' : JSON.stringify(JSON.parse(text), null, 2);
}

/** A value as EJSON text on one line. */
export function formatCompact(value: unknown): string {
  return (encode(value) as string | undefined) ?? 'undefined';
}

/** `57 s`, `4 min 10 s`, `2 h 5 min`: a wait as people read it (ms in). */
export function formatWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** What a person should do about a two-factor error, from its details; '' when nothing special. */
export function twoFactorAdvice(err: Pick<DdpError, 'error' | 'details'>): string {
  const details = (typeof err.details === 'object' && err.details !== null ? err.details : {}) as { lockedFor?: unknown; reason?: unknown; nextCodeIn?: unknown };
  if (err.error === 'totp-max-attempts' && typeof details.lockedFor === 'number') return `Too many wrong codes: try again in ${formatWait(details.lockedFor)}.`;
  if (details.reason === 'used') {
    // The next code may already show (the step turned while the answer travelled).
    return typeof details.nextCodeIn === 'number' && details.nextCodeIn > 0
      ? `That code was already used: wait for the next code from your app in ${formatWait(details.nextCodeIn)}.`
      : 'That code was already used: enter the next code your app shows.';
  }
  return '';
}

/** `error [code]: reason`, the advice for 2FA errors, then the details as EJSON when there are any. */
export function formatDdpError(err: DdpError): string {
  const advice = twoFactorAdvice(err);
  const head = `error [${String(err.error)}]: ${err.reason ?? err.message}${advice === '' ? '' : `\n${advice}`}`;
  return err.details === undefined ? head : `${head}\ndetails: ${formatValue(err.details)}`;
}
