/**
 * The fuzz oracle: a reference model of the documented answers, written from the tables of docs/errors.md and docs/wire-protocol.md
 * and SPEC §1 (Meteor's DDP.md), not from the server's code. For each frame it says what the
 * server must answer:
 *
 * - a frame that is not JSON, or not valid EJSON (a `$date` that is not a finite number of ms,
 *   a `$binary` that is not base64, a `$type` nobody registered, a bad `$InfNaN`, `$escape` or
 *   `$regexp`, a key `__proto__`/`constructor`/`prototype` anywhere, nesting deeper than 64)
 *   → `{msg:'error', reason:'Parse error'}`;
 * - JSON that is not a DDP message → `Bad request`; a `method` or `sub`/`unsub` with fields of
 *   the wrong type → `Malformed method invocation` / `Malformed subscription`; all with
 *   `offendingMessage`;
 * - before the handshake, any other message → `Must connect first`; after it, `connect` →
 *   `Already connected`;
 * - `ping` → `pong` (echoing a string id), `pong` → nothing, `disconnect` → close 1000;
 * - `method` → exactly one `result` and one `updated`, in queue order; `sub`/`unsub` → `ready`
 *   or `nosub`, in queue order;
 * - a binary frame → close 1003; a frame over `maxFrameBytes` → close 1009.
 */
import { FUZZ_METHODS, FUZZ_PUBLICATIONS } from './generate.js';

export const PARSE_ERROR = 'Parse error';
export const BAD_REQUEST = 'Bad request';
export const MALFORMED_METHOD = 'Malformed method invocation';
export const MALFORMED_SUB = 'Malformed subscription';
export const MUST_CONNECT = 'Must connect first';
export const ALREADY_CONNECTED = 'Already connected';

const MAX_DEPTH = 64;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE_LIMIT = 8.64e15;

/** An answer sent at once (not through the method queue). */
export type Immediate = { msg: 'error'; reason: string; offending?: unknown; hasOffending: boolean } | { msg: 'pong'; id?: string };

/** What the method queue answers, in order. */
export type Queued =
  | { msg: 'result'; id: string; method: string; params: unknown[] }
  | { msg: 'ready'; id: string }
  | { msg: 'nosub'; id: string; error?: { error: number | string; reason: string } };

export type Prediction =
  | { kind: 'immediate'; answer: Immediate }
  | { kind: 'queued'; answer: Queued }
  | { kind: 'nothing' }
  | { kind: 'close'; code: number }
  | { kind: 'connect'; msg: Record<string, unknown> };

class Invalid extends Error {}

/** The reference EJSON decoder. */
export function referenceDecode(text: string): { ok: true; value: unknown } | { ok: false } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  try {
    return { ok: true, value: walk(value, 0) };
  } catch (err) {
    if (err instanceof Invalid || err instanceof RangeError) return { ok: false };
    throw err;
  }
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) throw new Invalid('too deep');
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.some((k) => FORBIDDEN.has(k))) throw new Invalid('forbidden key');
  const one = keys.length === 1 ? keys[0] : undefined;
  if (one === '$date') {
    const ms = obj.$date;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > DATE_LIMIT) throw new Invalid('$date');
    return new Date(ms);
  }
  if (one === '$binary') {
    const b = obj.$binary;
    if (typeof b !== 'string' || !BASE64.test(b)) throw new Invalid('$binary');
    return new Uint8Array(Buffer.from(b, 'base64'));
  }
  if (one === '$InfNaN') {
    const s = obj.$InfNaN;
    if (s === 1) return Infinity;
    if (s === -1) return -Infinity;
    if (s === 0) return NaN;
    throw new Invalid('$InfNaN');
  }
  if (one === '$escape') {
    const inner = obj.$escape;
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw new Invalid('$escape');
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(inner)) {
      if (FORBIDDEN.has(key)) throw new Invalid('forbidden key');
      out[key] = walk((inner as Record<string, unknown>)[key], depth + 2);
    }
    return out;
  }
  if (keys.length === 2 && '$regexp' in obj && '$flags' in obj) {
    const { $regexp: source, $flags: flags } = obj;
    if (typeof source !== 'string' || typeof flags !== 'string' || !/^[dgimsuvy]*$/.test(flags)) throw new Invalid('$regexp');
    try {
      return new RegExp(source, flags);
    } catch {
      throw new Invalid('$regexp');
    }
  }
  // No custom EJSON type is registered by the server: every `$type` is unknown.
  if (keys.length === 2 && '$type' in obj && '$value' in obj) throw new Invalid('$type');
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = walk(obj[key], depth + 1);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array) && !(v instanceof RegExp);
}

/** Per-connection state the answers depend on. */
export interface ConnectionModel {
  connected: boolean;
  /** Live subscription ids (a repeated `sub` id is ignored). */
  subs: Set<string>;
  maxSubscriptions: number;
  maxFrameBytes: number;
}

/** The text the server receives for a JS string sent as a WebSocket text frame (lone surrogates become U+FFFD). */
export function onTheWire(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The predicted answer to one text frame; updates `model` as the server's state changes. */
export function predict(model: ConnectionModel, sent: string): Prediction {
  if (Buffer.byteLength(sent, 'utf8') > model.maxFrameBytes) return { kind: 'close', code: 1009 };
  const text = onTheWire(sent);
  const decoded = referenceDecode(text);
  if (!decoded.ok) return immediateError(PARSE_ERROR);
  const value = decoded.value;
  const bad = (reason: string): Prediction => immediateError(reason, value);
  if (!isRecord(value) || typeof value.msg !== 'string') return bad(BAD_REQUEST);
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(value, k);
  let kind: string;
  switch (value.msg) {
    case 'method':
      if (typeof value.id !== 'string' || typeof value.method !== 'string' || (has('params') && !Array.isArray(value.params)) || (has('randomSeed') && typeof value.randomSeed !== 'string')) return bad(MALFORMED_METHOD);
      kind = 'method';
      break;
    case 'sub':
      if (typeof value.id !== 'string' || typeof value.name !== 'string' || (has('params') && !Array.isArray(value.params))) return bad(MALFORMED_SUB);
      kind = 'sub';
      break;
    case 'unsub':
      if (typeof value.id !== 'string') return bad(MALFORMED_SUB);
      kind = 'unsub';
      break;
    case 'connect':
    case 'ping':
    case 'pong':
    case 'disconnect':
      kind = value.msg;
      break;
    default:
      return bad(BAD_REQUEST);
  }
  if (!model.connected) {
    if (kind === 'connect') return { kind: 'connect', msg: value };
    return bad(MUST_CONNECT);
  }
  switch (kind) {
    case 'connect':
      return bad(ALREADY_CONNECTED);
    case 'ping':
      return { kind: 'immediate', answer: typeof value.id === 'string' ? { msg: 'pong', id: value.id } : { msg: 'pong' } };
    case 'pong':
      return { kind: 'nothing' };
    case 'disconnect':
      return { kind: 'close', code: 1000 };
    case 'method':
      return { kind: 'queued', answer: { msg: 'result', id: value.id as string, method: value.method as string, params: Array.isArray(value.params) ? value.params : [] } };
    case 'sub': {
      const id = value.id as string;
      if (model.subs.has(id)) return { kind: 'nothing' };
      const name = value.name as string;
      if (!(FUZZ_PUBLICATIONS as readonly string[]).includes(name)) {
        return { kind: 'queued', answer: { msg: 'nosub', id, error: { error: 404, reason: `Subscription '${name}' not found` } } };
      }
      if (model.subs.size >= model.maxSubscriptions) {
        return { kind: 'queued', answer: { msg: 'nosub', id, error: { error: 'too-many-subscriptions', reason: 'Too many subscriptions on this connection' } } };
      }
      const params = Array.isArray(value.params) ? value.params : [];
      if (name === 'fuzz.pubString' && (params.length !== 1 || typeof params[0] !== 'string')) {
        return { kind: 'queued', answer: { msg: 'nosub', id, error: { error: 400, reason: 'Match failed' } } };
      }
      model.subs.add(id);
      return { kind: 'queued', answer: { msg: 'ready', id } };
    }
    default: {
      const id = value.id as string;
      model.subs.delete(id);
      return { kind: 'queued', answer: { msg: 'nosub', id } };
    }
  }
}

function immediateError(reason: string, offending?: unknown): Prediction {
  return { kind: 'immediate', answer: offending === undefined && reason === PARSE_ERROR ? { msg: 'error', reason, hasOffending: false } : { msg: 'error', reason, offending, hasOffending: true } };
}

/** The methods whose results the oracle knows exactly. */
export function knownResult(method: string, params: unknown[]): { result: unknown } | { error: { error: number | string; reason: string } } | null {
  if (method === 'fuzz.echo') return { result: params };
  if (method === 'fuzz.add') {
    if (params.length === 2 && typeof params[0] === 'number' && typeof params[1] === 'number' && !Number.isNaN(params[0]) && !Number.isNaN(params[1])) {
      return { result: params[0] + params[1] };
    }
    return { error: { error: 400, reason: 'Match failed' } };
  }
  return null;
}

export const FUZZ_METHOD_NAMES: readonly string[] = FUZZ_METHODS;
