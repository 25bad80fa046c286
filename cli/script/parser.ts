/**
 * The transcript format of `ddp-guard script`: a DDP session written down as messages to send
 * and messages to expect, run against any DDP server.
 *
 * ```
 * # A comment. Blank lines are ignored too.
 * set user=alice
 * > {"msg":"connect","version":"1","support":["1","pre2","pre1"]}
 * < {"msg":"connected","session":"{{=session}}"}
 * > {"msg":"method","method":"echo","params":["hi {{user}}"],"id":"1"}
 * < {"msg":"result","id":"1","result":"hi *"}
 * > {"msg":"sub","id":"s1","name":"users","params":[]}
 * < {"msg":"ready","subs":["s1"]}
 * > {"msg":"method","method":"login","params":[{"totp":{"login":{"user":{"username":"{{user}}"},"password":"pw"},"code":"{{totp:{{secret}}}}"}}],"id":"2"}
 * < {"msg":"result","id":"2","result":{"id":"*","token":"{{=token}}"}}
 * sleep 200
 * ```
 *
 * One step per line:
 * - `> JSON` sends the JSON value as one text frame (after expanding placeholders). The
 *   transcript sends everything itself, `connect` included; only `ping`s are answered for it.
 * - `< JSON` expects a message matching the pattern, within `--timeout` ms (default 5000).
 *   An object pattern matches a message having all its fields (extra fields are allowed); an
 *   array matches item by item with the same length; numbers, booleans and null match equal
 *   values; in a string, `*` matches any text (`\\*` in JSON is a literal star) and a string of
 *   stars only (`"*"`) matches any value, objects included. Messages are matched as they come
 *   off the wire (plain JSON: a date is `{"$date": 1700000000000}`).
 * - `sleep MS` waits MS milliseconds.
 * - `set NAME=VALUE` sets a variable (a string; placeholders in VALUE are expanded).
 *
 * Placeholders, inside JSON strings only (`$` is left alone: it belongs to EJSON):
 * - `{{name}}` inserts a variable set with `set`, `--var name=value`, or captured. A string
 *   that is nothing but `"{{name}}"` becomes the value with its type (a captured object or
 *   number stays one); inside a longer string the value is inserted as text.
 * - `"{{=name}}"`, as the whole string value of a field or item of a `<` pattern, matches any
 *   value and captures it into `name`, once the whole message matched.
 * - `{{totp:SECRET}}` inserts the current TOTP code of a base32 secret (SHA-1, 6 digits,
 *   30 s); the secret may come from a variable: `{{totp:{{secret}}}}`. Servers accept a code
 *   once, so a second code for the same secret in the same 30-s step is the next step's code
 *   (which servers accept as clock drift). To send the same code twice, as a replay test does,
 *   `set code={{totp:...}}` and use `{{code}}`.
 *
 * Matching order: every received message goes into a backlog in arrival order. An expectation
 * takes the oldest message of the backlog that matches, else waits for the first new one that
 * does; messages that match nothing stay in the backlog for later expectations (so `added`,
 * `updated` or `ping` messages in between never break a transcript). A `ping` is answered with
 * `pong` at once.
 *
 * A line that is none of these, JSON that does not parse, or a malformed placeholder is a
 * syntax error naming the line: nothing is run.
 * @module
 */
import { forEachString, isVariableName, parseTemplate, TemplateError } from './template.js';

/** One step of a transcript; `line` is 1-based, `source` the line as written. */
export type Step =
  | { kind: 'send'; line: number; source: string; message: unknown }
  | { kind: 'expect'; line: number; source: string; pattern: unknown; patternText: string }
  | { kind: 'sleep'; line: number; source: string; ms: number }
  | { kind: 'set'; line: number; source: string; name: string; value: string };

/** A transcript that cannot be run; `line` is 1-based. */
export class TranscriptSyntaxError extends Error {
  override name = 'TranscriptSyntaxError';

  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** The longest `sleep` accepted (10 minutes): a typo must not hang a test run for hours. */
export const MAX_SLEEP_MS = 600_000;

/** Parses a whole transcript. @throws TranscriptSyntaxError naming the first bad line. */
export function parseTranscript(text: string): Step[] {
  const steps: Step[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const source = raw.replace(/\r$/, '');
    const trimmed = source.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    steps.push(parseLine(trimmed, index + 1));
  });
  if (steps.length === 0) throw new TranscriptSyntaxError(1, 'the transcript has no steps (lines starting with >, <, sleep or set)');
  return steps;
}

function parseLine(source: string, line: number): Step {
  if (source.startsWith('>')) {
    const message = parseJson(source.slice(1), line, '>');
    checkPlaceholders(message, line, false);
    return { kind: 'send', line, source, message };
  }
  if (source.startsWith('<')) {
    const patternText = source.slice(1).trim();
    const pattern = parseJson(patternText, line, '<');
    checkPlaceholders(pattern, line, true);
    return { kind: 'expect', line, source, pattern, patternText };
  }
  const word = /^(\S+)\s*(.*)$/.exec(source);
  const [keyword, rest] = [word?.[1] ?? '', word?.[2] ?? ''];
  if (keyword === 'sleep') {
    if (!/^\d+$/.test(rest) || Number(rest) > MAX_SLEEP_MS) {
      throw new TranscriptSyntaxError(line, `'sleep' takes a number of milliseconds from 0 to ${MAX_SLEEP_MS}, as in 'sleep 500'; got '${rest}'`);
    }
    return { kind: 'sleep', line, source, ms: Number(rest) };
  }
  if (keyword === 'set') {
    const eq = rest.indexOf('=');
    const name = eq < 0 ? '' : rest.slice(0, eq).trim();
    if (!isVariableName(name)) {
      throw new TranscriptSyntaxError(line, `'set' takes NAME=VALUE, the name being letters, digits, '_', '.' or '-' (starting with a letter or '_'); got '${rest}'`);
    }
    const value = rest.slice(eq + 1).trim();
    checkPlaceholders(value, line, false);
    return { kind: 'set', line, source, name, value };
  }
  throw new TranscriptSyntaxError(line, `unknown step '${truncate(source, 40)}': a line is '> JSON' (send), '< JSON' (expect), 'sleep MS', 'set NAME=VALUE', or a '#' comment`);
}

function parseJson(text: string, line: number, sign: string): unknown {
  if (text.trim() === '') throw new TranscriptSyntaxError(line, `'${sign}' needs a JSON message after it`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TranscriptSyntaxError(line, `the JSON after '${sign}' does not parse (${(err as Error).message})`);
  }
}

/** Every placeholder parses; captures only where allowed: a whole string value of a pattern. */
function checkPlaceholders(value: unknown, line: number, isPattern: boolean): void {
  try {
    forEachString(value, (text) => {
      const segments = parseTemplate(text);
      const captures = segments.filter((s) => s.kind === 'capture');
      if (captures.length === 0) return;
      if (!isPattern) throw new TemplateError(`"${text}" captures a value, which only a '<' line can do`);
      if (segments.length !== 1) throw new TemplateError(`"${text}": a capture must be the whole string, as in "{{=name}}"`);
    });
  } catch (err) {
    if (err instanceof TemplateError) throw new TranscriptSyntaxError(line, err.message);
    throw err;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
