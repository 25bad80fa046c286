/**
 * What a transcript virtual user prepares once for every iteration: the frames that have no
 * placeholder (as text, with what they are for timing), the patterns that read no variable (as
 * matchers), the `msg` kinds worth keeping, and the calls whose answer is expected to be an
 * error. A virtual user then does per step only what depends on the iteration.
 * @module
 */
import type { Step } from '../script/parser.js';
import { compilePattern, type Matcher } from '../script/pattern.js';
import { forEachString, parseTemplate, type ExpandContext } from '../script/template.js';

/** What a sent frame is, for timing its answer. */
export type FrameInfo =
  | { kind: 'connect' }
  | { kind: 'method'; id: string; name: string; login: boolean; message: Record<string, unknown> }
  | { kind: 'sub'; id: string; name: string }
  | { kind: 'other' };

const OTHER: FrameInfo = { kind: 'other' };
const CONNECT: FrameInfo = { kind: 'connect' };

/** Reads what a frame about to be sent is (`message` as sent, after expansion). */
export function frameInfo(message: unknown): FrameInfo {
  if (typeof message !== 'object' || message === null) return OTHER;
  const msg = message as Record<string, unknown>;
  if (msg.msg === 'connect') return CONNECT;
  if (msg.msg === 'method' && typeof msg.id === 'string' && typeof msg.method === 'string') return { kind: 'method', id: msg.id, name: msg.method, login: msg.method === 'login', message: msg };
  if (msg.msg === 'sub' && typeof msg.id === 'string' && typeof msg.name === 'string') return { kind: 'sub', id: msg.id, name: msg.name };
  return OTHER;
}

/** A step with what can be prepared once for every iteration. */
export interface PreparedStep {
  step: Step;
  /** Send: the frame's UTF-8 bytes when it has no placeholder (encoded once, sent as a text frame). */
  bytes?: Buffer;
  /** Send: what `bytes` is (set with `bytes`). */
  frame?: FrameInfo;
  /** Expect: the matcher when the pattern reads no variable. */
  matcher?: Matcher;
  /** Expect: the `msg` a matching message must have, when the pattern says it literally (the backlog is searched by it). */
  msgKind?: string;
}

/** Prepares the steps once: placeholder-free frames and patterns are built a single time. */
export function prepareSteps(steps: readonly Step[]): PreparedStep[] {
  const noCtx: ExpandContext = { lookup: () => undefined, totp: () => '' };
  return steps.map((step): PreparedStep => {
    if (step.kind === 'send' && !hasPlaceholders(step.message, false)) return { step, bytes: Buffer.from(JSON.stringify(step.message)), frame: frameInfo(step.message) };
    if (step.kind !== 'expect') return { step };
    const msg = typeof step.pattern === 'object' && step.pattern !== null ? (step.pattern as Record<string, unknown>).msg : undefined;
    const msgKind = typeof msg === 'string' && /^[a-z_]+$/i.test(msg) ? msg : undefined;
    const matcher = hasPlaceholders(step.pattern, true) ? undefined : compilePattern(step.pattern, noCtx);
    return { step, ...(matcher ? { matcher } : {}), ...(msgKind ? { msgKind } : {}) };
  });
}

function hasPlaceholders(value: unknown, allowCaptures: boolean): boolean {
  let found = false;
  forEachString(value, (text) => {
    if (parseTemplate(text).some((s) => s.kind === 'var' || s.kind === 'totp' || (!allowCaptures && s.kind === 'capture'))) found = true;
  });
  return found;
}

/**
 * Ids of calls whose answer the transcript expects to be an error (`< {"msg":"result","id":"1",
 * "error":…}`): a transcript that answers 2FA itself, as a recorded one does, gets its
 * `totp-required` as recorded instead of an automatic retry.
 */
export function idsExpectingErrors(steps: readonly Step[]): Set<string> {
  const ids = new Set<string>();
  for (const step of steps) {
    if (step.kind !== 'expect' || typeof step.pattern !== 'object' || step.pattern === null) continue;
    const p = step.pattern as Record<string, unknown>;
    if (p.msg === 'result' && typeof p.id === 'string' && 'error' in p) ids.add(p.id);
  }
  return ids;
}

/**
 * The `msg` kinds worth keeping in the backlog: those the expectations name, when every one
 * names its kind; undefined (keep everything) otherwise. `updated` and data messages that no
 * step expects are then dropped as they arrive instead of piling up.
 */
export function keptKinds(steps: readonly PreparedStep[]): Set<string> | undefined {
  const kinds = new Set<string>();
  for (const p of steps) {
    if (p.step.kind !== 'expect') continue;
    if (p.msgKind === undefined) return undefined;
    kinds.add(p.msgKind);
  }
  return kinds;
}

/** The `msg` kinds a virtual user reads for its figures (and `ping`, which it answers). */
const READ_KINDS = new Set(['ping', 'connected', 'failed', 'result', 'ready', 'nosub']);

/**
 * The `msg` of a frame that can be dropped unparsed, else undefined: a frame that begins
 * `{"msg":"<kind>"` followed by `,` or `}`, names `"msg"` nowhere else and has no `\u` escape
 * (so no other key can decode to `msg`), of a kind the virtual user does not read and `kept`
 * does not keep. Parsed, such a frame would be dropped too: as that kind, or, if the rest is
 * not JSON, as text (kind `''`, never kept when `kept` is defined).
 */
export function droppableKind(text: string, kept: ReadonlySet<string> | undefined): string | undefined {
  if (kept === undefined || !text.startsWith('{"msg":"')) return undefined;
  const end = text.indexOf('"', 8);
  if (end < 0) return undefined;
  const after = text.charCodeAt(end + 1);
  if (after !== 44 /* , */ && after !== 125 /* } */) return undefined;
  const kind = text.slice(8, end);
  if (READ_KINDS.has(kind) || kept.has(kind)) return undefined;
  if (text.indexOf('"msg"', 2) >= 0 || text.indexOf('\\u') >= 0) return undefined;
  return kind;
}

/** The code of a DDP error (`error` field), as text; undefined when there is no error. */
export function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object' && 'error' in error) return String((error as { error: unknown }).error);
  return 'error';
}
