/**
 * The EJSON codec: exact and strict.
 *
 * - Decoding rejects what Meteor's `ejson` package would silently turn into garbage: a `$date`
 *   that is not a finite number, a `$binary` that is not base64, a `$type` nobody registered,
 *   `__proto__`/`constructor`/`prototype` keys anywhere, nesting deeper than {@link MAX_DEPTH}.
 * - Encoding omits a field only when its value is `undefined`; `0`, `false`, `''` and `null` go
 *   out as they are.
 * - Both directions take a fast path for plain JSON, which is nearly every DDP message.
 */
import EJSON from 'ejson';
import { FORBIDDEN_KEYS } from './constants.js';

/** Decoded values nested deeper than this are refused (a guard against stack exhaustion). */
export const MAX_DEPTH = 64;

/** Why a text could not be decoded. The session answers every one with `Parse error`. */
export class CodecError extends Error {
  override name = 'CodecError';
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const REGEXP_FLAGS = /^[dgimsuvy]*$/;

/**
 * Decode one EJSON text. Throws {@link CodecError} on anything that is not valid JSON or valid
 * EJSON.
 */
export function decode(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CodecError(`not JSON: ${(err as Error).message}`);
  }
  // Fast path: without '$' there is no EJSON type, and without these words no forbidden key.
  // A `\u` escape can spell either (`"\u005f_proto__"`, `"\u0024date"`), so it takes the slow path.
  if (!text.includes('$') && !text.includes('\\u') && !text.includes('__proto__') && !text.includes('constructor') && !text.includes('prototype') && !mayBeDeep(text)) {
    return value;
  }
  return fromJSONValue(value, 0);
}

/**
 * Cheap pre-check: nesting deeper than MAX_DEPTH needs more than MAX_DEPTH opening brackets
 * (a short text cannot have them; counting them is a native search). Only a text with that
 * many brackets — in strings or not — is scanned for its real depth.
 */
function mayBeDeep(text: string): boolean {
  if (text.length <= MAX_DEPTH * 2) return false;
  let opening = 0;
  for (let i = text.indexOf('{'); i !== -1 && opening <= MAX_DEPTH; i = text.indexOf('{', i + 1)) opening++;
  for (let i = text.indexOf('['); i !== -1 && opening <= MAX_DEPTH; i = text.indexOf('[', i + 1)) opening++;
  if (opening <= MAX_DEPTH) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // skip string
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function fromJSONValue(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) throw new CodecError(`nesting deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromJSONValue(value[i], depth + 1);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (const key of keys) {
    if (FORBIDDEN_KEYS.has(key)) throw new CodecError(`forbidden key '${key}'`);
  }
  if (keys.length > 0 && keys.length <= 2 && keys[0]!.charCodeAt(0) === 0x24 /* $ */) {
    const typed = fromTypedValue(obj, keys, depth);
    if (typed !== NOT_TYPED) return typed;
  }
  for (const key of keys) obj[key] = fromJSONValue(obj[key], depth + 1);
  return obj;
}

const NOT_TYPED = Symbol('not an EJSON type');

function fromTypedValue(obj: Record<string, unknown>, keys: string[], depth: number): unknown {
  const has = (k: string): boolean => keys.includes(k);
  if (keys.length === 1) {
    if (has('$date')) {
      const ms = obj.$date;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new CodecError('$date must be a finite number of milliseconds');
      return new Date(ms);
    }
    if (has('$binary')) {
      const b64 = obj.$binary;
      if (typeof b64 !== 'string' || !BASE64.test(b64)) throw new CodecError('$binary must be base64 text');
      return base64ToBytes(b64);
    }
    if (has('$InfNaN')) {
      const sign = obj.$InfNaN;
      if (sign === 1) return Infinity;
      if (sign === -1) return -Infinity;
      if (sign === 0) return NaN;
      throw new CodecError('$InfNaN must be 1, -1 or 0');
    }
    if (has('$escape')) {
      const inner = obj.$escape;
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw new CodecError('$escape must hold an object');
      const out = inner as Record<string, unknown>;
      for (const key of Object.keys(out)) {
        if (FORBIDDEN_KEYS.has(key)) throw new CodecError(`forbidden key '${key}'`);
        out[key] = fromJSONValue(out[key], depth + 2);
      }
      return out;
    }
    return NOT_TYPED;
  }
  if (has('$regexp') && has('$flags')) {
    const { $regexp: source, $flags: flags } = obj;
    if (typeof source !== 'string' || typeof flags !== 'string' || !REGEXP_FLAGS.test(flags)) throw new CodecError('$regexp needs string source and flags');
    try {
      return new RegExp(source, flags);
    } catch {
      throw new CodecError('$regexp is not a valid regular expression');
    }
  }
  if (has('$type') && has('$value')) {
    const typeName = obj.$type;
    if (typeof typeName !== 'string' || !isRegisteredType(typeName)) throw new CodecError(`unknown EJSON type '${String(typeName)}'`);
    // The value goes to the type's factory as it is: check it for forbidden keys and depth here.
    checkUntyped(obj.$value, depth + 1);
    try {
      return EJSON.fromJSONValue({ $type: typeName, $value: obj.$value } as never);
    } catch (err) {
      throw new CodecError(`EJSON type '${typeName}' rejected its value: ${(err as Error).message}`);
    }
  }
  return NOT_TYPED;
}

/** Forbidden keys and nesting depth, for JSON handed over without decoding. */
function checkUntyped(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth >= MAX_DEPTH) throw new CodecError(`nesting deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    for (const item of value) checkUntyped(item, depth + 1);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new CodecError(`forbidden key '${key}'`);
    checkUntyped((value as Record<string, unknown>)[key], depth + 1);
  }
}

/** Base64 to bytes without Node's Buffer: this file also runs in browsers. */
function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function isRegisteredType(name: string): boolean {
  const types = (EJSON as unknown as { _getTypes(): Record<string, unknown> })._getTypes();
  return Object.prototype.hasOwnProperty.call(types, name);
}

/**
 * Encode one value as EJSON text. `undefined` object fields are omitted, as JSON does; nothing
 * else is.
 */
export function encode(value: unknown): string {
  if (isPlainJson(value, 0)) return JSON.stringify(value);
  return JSON.stringify(EJSON.toJSONValue(value as never));
}

/** True when JSON.stringify alone gives the EJSON text: no dates, binaries, non-finite numbers, `$` keys or custom types. */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (key.charCodeAt(0) === 0x24) return false;
        if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** EJSON deep equality (dates, binaries and custom types by value). */
export function ejsonEquals(a: unknown, b: unknown): boolean {
  return EJSON.equals(a as never, b as never);
}

/** EJSON deep clone. */
export function ejsonClone<T>(value: T): T {
  return EJSON.clone(value as never) as T;
}

/** Register a custom EJSON type, as `EJSON.addType` does; both ends must register it. */
export function addEjsonType(name: string, factory: (json: unknown) => unknown): void {
  EJSON.addType(name, factory as never);
}
