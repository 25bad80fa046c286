/**
 * Runs a parsed transcript on a {@link TranscriptSocket}: sends, expectations with captures,
 * sleeps and variables, one printed line per step, and the tally. A failed expectation does
 * not stop the run (later steps may still pass and say more); a closed socket makes every
 * later expectation fail at once instead of waiting for its timeout.
 * @module
 */
import type { Step } from './parser.js';
import { compilePattern, tryMatch } from './pattern.js';
import type { TranscriptSocket } from './socket.js';
import { expandString, expandValue, type ExpandContext } from './template.js';
import { TotpCodes } from './totp-codes.js';

/** Settings of one run. */
export interface RunOptions {
  /** How long each expectation waits (ms). */
  timeoutMs: number;
  /** Variables given on the command line (`--var`). */
  variables?: ReadonlyMap<string, unknown>;
  /** Prints one line of the report. */
  print(line: string): void;
  /** The clock for TOTP codes. @default Date.now */
  now?: () => number;
}

/** The tally: expectations that passed and failed, plus sends that could not be made. */
export interface RunResult {
  passed: number;
  failed: number;
}

/** How many received messages a failure report shows. */
const SHOWN_ON_FAILURE = 3;
/** Longest message text in a report line. */
const MAX_SHOWN_CHARS = 300;

/** Runs `steps` in order and prints each; resolves with the tally. */
export async function runTranscript(steps: readonly Step[], socket: TranscriptSocket, options: RunOptions): Promise<RunResult> {
  const variables = new Map<string, unknown>(options.variables ?? []);
  const totp = new TotpCodes(options.now);
  const ctx: ExpandContext = { lookup: (name) => variables.get(name), totp: (secret) => totp.next(secret) };
  const result: RunResult = { passed: 0, failed: 0 };
  const fail = (line: number, why: string): void => {
    result.failed += 1;
    options.print(`✗ line ${line}: ${why}`);
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'set':
        try {
          variables.set(step.name, expandString(step.value, ctx));
          options.print(`· line ${step.line} set ${step.name}`);
        } catch (err) {
          fail(step.line, `cannot set ${step.name}: ${messageOf(err)}`);
        }
        break;
      case 'sleep':
        options.print(`· line ${step.line} sleep ${step.ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, step.ms));
        break;
      case 'send':
        try {
          const message = expandValue(step.message, ctx);
          socket.send(JSON.stringify(message));
          options.print(`→ line ${step.line} > ${summarize(message)}`);
        } catch (err) {
          fail(step.line, `cannot send: ${messageOf(err)}`);
        }
        break;
      case 'expect': {
        let matcher;
        try {
          matcher = compilePattern(step.pattern, ctx);
        } catch (err) {
          fail(step.line, `cannot build the expectation: ${messageOf(err)}`);
          break;
        }
        let captures: Map<string, unknown> | null = null;
        const message = await socket.take((m) => (captures = tryMatch(matcher, m)) !== null, options.timeoutMs);
        if (message === null || captures === null) {
          fail(step.line, `expected ${step.patternText} within ${options.timeoutMs} ms${closedText(socket)}; ${lastMessages(socket)}`);
          break;
        }
        for (const [name, value] of captures as Map<string, unknown>) variables.set(name, value);
        result.passed += 1;
        options.print(`✓ line ${step.line} < ${summarize(message)}`);
        break;
      }
    }
  }
  options.print(`${result.passed} passed, ${result.failed} failed`);
  return result;
}

/** A message in a few words: its kind and the fields that identify it. */
export function summarize(message: unknown): string {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return clip(JSON.stringify(message) ?? String(message));
  const m = message as Record<string, unknown>;
  const parts: string[] = [typeof m.msg === 'string' ? m.msg : clip(JSON.stringify(m))];
  if (typeof m.msg !== 'string') return parts[0]!;
  if (typeof m.method === 'string') parts.push(m.method);
  if (typeof m.name === 'string') parts.push(m.name);
  if (typeof m.collection === 'string') parts.push(m.collection);
  for (const key of ['id', 'session', 'version'] as const) {
    if (typeof m[key] === 'string' || typeof m[key] === 'number') parts.push(`${key}=${String(m[key])}`);
  }
  for (const key of ['subs', 'methods'] as const) {
    if (Array.isArray(m[key])) parts.push(`${key}=${(m[key] as unknown[]).join(',')}`);
  }
  if (typeof m.error === 'object' && m.error !== null) {
    parts.push(`error=${String((m.error as Record<string, unknown>).error)}`);
  } else if (typeof m.reason === 'string') {
    parts.push(`reason=${JSON.stringify(m.reason)}`);
  }
  return parts.join(' ');
}

function lastMessages(socket: TranscriptSocket): string {
  const recent = socket.recent(SHOWN_ON_FAILURE);
  if (recent.length === 0) return 'nothing was received';
  return `last messages: ${recent.map((m) => clip(typeof m === 'string' ? m : JSON.stringify(m))).join(' | ')}`;
}

function closedText(socket: TranscriptSocket): string {
  const c = socket.closed;
  return c ? ` (the connection closed: code ${c.code}${c.reason ? `, ${c.reason}` : ''})` : '';
}

function clip(text: string): string {
  return text.length <= MAX_SHOWN_CHARS ? text : `${text.slice(0, MAX_SHOWN_CHARS - 1)}…`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
