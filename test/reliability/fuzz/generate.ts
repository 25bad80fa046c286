/**
 * Random and mutated DDP frames, as text: valid messages with random fields, wrong types,
 * huge numbers, deep nesting, long strings, unknown messages, EJSON oddities (`$date` of
 * garbage, `$binary` of non-base64, `$type` of unknown types...), prototype-pollution keys
 * (also spelled with `\u` escapes), then byte-level mutations of all of these. Frames are built
 * as text so that numbers such as `1e400` and escapes such as `"\u005f_proto__"` reach the
 * server as written. The generator knows nothing of the expected answer: the oracle decides.
 */
import fc from 'fast-check';
import { Rng } from './rng.js';

/** Method names the fuzz app registers (see `app.ts`). */
export const FUZZ_METHODS = ['fuzz.echo', 'fuzz.add'] as const;
/** Publications the fuzz app registers. */
export const FUZZ_PUBLICATIONS = ['fuzz.pub', 'fuzz.pubString'] as const;

/** What the generator makes: a text frame, or one of the frames that end a connection. */
export type Frame =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array };

export interface GeneratorOptions {
  seed: number;
  /** Built-in method names (login, 2fa:...) to aim random parameters at. */
  builtIns: readonly string[];
  /** The server's `maxFrameBytes`: some frames are made just over it. */
  maxFrameBytes: number;
}

const HUGE_NUMBERS = [
  '1e400', '-1e400', '1e308', '1.7976931348623157e308', '-1.7976931348623157e309', '5e-324', '1e-400',
  '9007199254740993', '-9007199254740993', '123456789012345678901234567890', '-0', '0.0', '1E2', '8.64e15',
  '8.64e15', '8640000000000001', '-8.64e15', '4294967296', '2147483648', '-2147483649', '0.1', '1e21',
];
const PROTO_KEYS = [
  '"__proto__"', '"constructor"', '"prototype"', '"\\u005f_proto__"', '"__proto\\u005f_"', '"\\u0063onstructor"',
  '"prot\\u006ftype"', '"toString"', '"hasOwnProperty"', '"valueOf"', '"__defineGetter__"', '"isPrototypeOf"',
];
const DOLLAR_KEYS = ['"$date"', '"$binary"', '"$type"', '"$value"', '"$InfNaN"', '"$escape"', '"$regexp"', '"$flags"', '"$foo"', '"\\u0024date"', '"$"'];
const MSG_NAMES = [
  'connect', 'connected', 'failed', 'ping', 'pong', 'method', 'result', 'updated', 'sub', 'unsub', 'nosub',
  'ready', 'added', 'changed', 'removed', 'error', 'disconnect', 'addedBefore', 'movedBefore', 'Method', 'METHOD',
  'method ', '', 'ping\u0000', 'hello', 'server_id', '__proto__', 'constructor', 'toString',
];
const STRING_PIECES = [
  'a', 'Z', '0', ' ', '\\n', '\\t', '\\"', '\\\\', '\\/', '\\u0000', '\\ud800', '\\udc00', '\\ud83d\\ude00', 'é', '€',
  '😀', '中', '\u200b', '%s', '$&', "$'", '$`', '$$', '${x}', '<script>', '../', '\\u2028', ':', '.', '$', '{', '}', '[', ']',
];
const MUTATION_CHARS = ['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '0', '1', '-', 'e', '.', 'n', 't', 'f', '$', 'a', '\u0000', '😀', '\u00ff'];

/** A stream of frames for one seed. */
export class FrameGenerator {
  readonly rng: Rng;
  private readonly pool: string[];
  private counter = 0;

  constructor(private readonly options: GeneratorOptions) {
    this.rng = new Rng(options.seed);
    // fast-check's JSON values (unicode strings, odd keys, nested arrays) as a pool of fragments.
    const values = fc.sample(fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), { numRuns: 300, seed: options.seed });
    this.pool = values.map((v) => JSON.stringify(v) ?? 'null');
  }

  /** The next frame. `connected` tells whether the connection finished its handshake. */
  next(): Frame {
    const r = this.rng;
    if (r.chance(0.0004)) return { kind: 'binary', bytes: Uint8Array.from({ length: r.range(0, 64) }, () => r.int(256)) };
    if (r.chance(0.0004)) return { kind: 'text', text: this.oversize() };
    let text = r.weighted<() => string>([
      [30, () => this.method()],
      [8, () => this.sub()],
      [4, () => this.unsub()],
      [5, () => this.ping()],
      [2, () => this.connect()],
      [0.3, () => '{"msg":"disconnect"}'],
      [6, () => this.unknownMessage()],
      [6, () => this.value(0)],
      [4, () => this.garbage()],
      [4, () => this.deep()],
    ])();
    if (r.chance(0.35)) text = this.mutate(text);
    return { kind: 'text', text };
  }

  /** A unique method id (sometimes with odd characters). */
  private id(): string {
    const n = ++this.counter;
    return this.rng.weighted<() => string>([
      [10, () => `"f${n}"`],
      [1, () => `"${this.stringBody(8)}#${n}"`],
      [1, () => `"${'i'.repeat(this.rng.range(100, 3000))}${n}"`],
    ])();
  }

  private method(): string {
    const r = this.rng;
    const name = r.weighted<() => string>([
      [10, () => `"${r.pick(FUZZ_METHODS)}"`],
      [8, () => `"${r.pick(this.options.builtIns)}"`],
      [4, () => this.string()],
      [1, () => this.value(1)],
    ])();
    const fields: string[] = ['"msg":"method"', `"method":${name}`];
    if (!r.chance(0.03)) fields.push(`"params":${r.chance(0.9) ? this.params(name) : this.value(1)}`);
    if (!r.chance(0.03)) fields.push(`"id":${r.chance(0.95) ? this.id() : this.value(1)}`);
    if (r.chance(0.1)) fields.push(`"randomSeed":${r.chance(0.7) ? this.string() : this.value(1)}`);
    if (r.chance(0.1)) fields.push(`${this.key()}:${this.value(1)}`);
    return this.object(fields);
  }

  private params(name: string): string {
    const r = this.rng;
    if (name === '"fuzz.add"' && r.chance(0.5)) {
      return `[${this.number()},${this.number()}${r.chance(0.2) ? `,${this.value(2)}` : ''}]`;
    }
    const n = r.weighted([[3, 0], [6, 1], [3, 2], [1, 3], [0.3, r.range(4, 40)]] as const);
    const items: string[] = [];
    for (let i = 0; i < n; i++) items.push(this.value(2));
    return `[${items.join(',')}]`;
  }

  private sub(): string {
    const r = this.rng;
    const fields = ['"msg":"sub"'];
    // Sub ids from a small set, so repeated ids and unsub of live ids happen.
    if (!r.chance(0.03)) fields.push(`"id":${r.chance(0.95) ? `"s${r.int(40)}"` : this.value(1)}`);
    if (!r.chance(0.03)) fields.push(`"name":${r.weighted([[6, () => `"${r.pick(FUZZ_PUBLICATIONS)}"`], [3, () => this.string()], [1, () => this.value(1)]] as const)()}`);
    if (r.chance(0.7)) fields.push(`"params":${r.chance(0.85) ? `[${r.chance(0.5) ? this.string() : this.value(2)}]` : this.value(1)}`);
    return this.object(fields);
  }

  private unsub(): string {
    const r = this.rng;
    return this.object(['"msg":"unsub"', ...(r.chance(0.95) ? [`"id":${r.chance(0.9) ? `"s${r.int(40)}"` : this.value(1)}`] : [])]);
  }

  private ping(): string {
    const r = this.rng;
    const msg = r.chance(0.8) ? 'ping' : 'pong';
    if (r.chance(0.3)) return `{"msg":"${msg}"}`;
    return `{"msg":"${msg}","id":${r.chance(0.7) ? this.string() : this.value(1)}}`;
  }

  private connect(): string {
    const r = this.rng;
    const fields = ['"msg":"connect"'];
    if (r.chance(0.8)) fields.push(`"version":${r.chance(0.7) ? `"${r.pick(['1', 'pre1', 'pre2', '2', ''])}"` : this.value(1)}`);
    if (r.chance(0.8)) fields.push(`"support":${r.chance(0.7) ? '["1","pre2","pre1"]' : this.value(1)}`);
    if (r.chance(0.3)) fields.push(`"session":${this.string()}`);
    return this.object(fields);
  }

  private unknownMessage(): string {
    const r = this.rng;
    const fields = [`"msg":${r.chance(0.8) ? `"${r.pick(MSG_NAMES)}"` : this.value(1)}`];
    const extra = r.range(0, 4);
    for (let i = 0; i < extra; i++) fields.push(`${this.key()}:${this.value(1)}`);
    return this.object(fields);
  }

  private object(fields: string[]): string {
    // Shuffle, so validators cannot rely on key order.
    for (let i = fields.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [fields[i], fields[j]] = [fields[j]!, fields[i]!];
    }
    return `{${fields.join(',')}}`;
  }

  private key(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [5, () => this.string(12)],
      [3, () => r.pick(PROTO_KEYS)],
      [2, () => r.pick(DOLLAR_KEYS)],
      [1, () => '"msg"'],
    ])();
  }

  /** A JSON value, as text. */
  value(depth: number): string {
    const r = this.rng;
    if (depth > 6) return r.chance(0.5) ? this.number() : this.string(8);
    return r.weighted<() => string>([
      [6, () => this.number()],
      [8, () => this.string()],
      [2, () => r.pick(['true', 'false', 'null'])],
      [3, () => `[${Array.from({ length: r.range(0, 4) }, () => this.value(depth + 1)).join(',')}]`],
      [4, () => `{${Array.from({ length: r.range(0, 4) }, () => `${this.key()}:${this.value(depth + 1)}`).join(',')}}`],
      [5, () => this.ejson(depth)],
      [2, () => `{${r.pick(PROTO_KEYS)}:${this.value(depth + 1)}}`],
      [3, () => r.pick(this.pool)],
      [0.3, () => this.longString()],
      [0.3, () => this.deep()],
    ])();
  }

  private number(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [4, () => String(r.range(-1000, 1000))],
      [2, () => String((r.next() - 0.5) * 10 ** r.range(-10, 30))],
      [3, () => r.pick(HUGE_NUMBERS)],
    ])();
  }

  /** A JSON string literal. */
  string(maxPieces = 20): string {
    return `"${this.stringBody(maxPieces)}"`;
  }

  private stringBody(maxPieces: number): string {
    const r = this.rng;
    let s = '';
    const n = r.range(0, maxPieces);
    for (let i = 0; i < n; i++) s += r.chance(0.6) ? String.fromCharCode(r.range(0x61, 0x7a)) : r.pick(STRING_PIECES);
    return s;
  }

  private longString(): string {
    const r = this.rng;
    const limit = Math.min(this.options.maxFrameBytes - 200, 60_000);
    const length = r.chance(0.15) ? r.range(1000, Math.max(1000, limit - 8)) : r.range(1000, 8000);
    return `"${r.pick(['x', 'é', '😀', '\\u0041'])}${'y'.repeat(length)}"`;
  }

  /** EJSON typed values, valid and not. */
  private ejson(depth: number): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [2, () => `{"$date":${r.chance(0.4) ? String(r.range(-1e12, 4e12)) : this.value(depth + 1)}}`],
      [2, () => `{"$binary":${r.chance(0.4) ? `"${Buffer.from(this.stringBody(10)).toString('base64')}"` : r.chance(0.5) ? this.string() : this.value(depth + 1)}}`],
      [2, () => `{"$type":${r.chance(0.7) ? this.string(6) : this.value(depth + 1)},"$value":${this.value(depth + 1)}}`],
      [1, () => `{"$InfNaN":${r.chance(0.5) ? r.pick(['1', '-1', '0', '2', '"1"', 'null', '0.5']) : this.value(depth + 1)}}`],
      [1, () => `{"$escape":${r.chance(0.5) ? `{${this.key()}:${this.value(depth + 2)}}` : this.value(depth + 1)}}`],
      [1, () => `{"$regexp":${r.chance(0.7) ? `"${r.pick(['a+', '(', '[', '\\\\d', '.*', ''])}"` : this.value(depth + 1)},"$flags":${r.chance(0.7) ? `"${r.pick(['', 'g', 'gi', 'gg', 'x', 'uv', 'dgimsuy'])}"` : this.value(depth + 1)}}`],
      [1, () => `{${r.pick(DOLLAR_KEYS)}:${this.value(depth + 1)},${this.key()}:${this.value(depth + 1)}}`],
    ])();
  }

  /** Nesting around the codec's limit, and far past it. */
  private deep(): string {
    const r = this.rng;
    const n = r.pick([10, 60, 61, 62, 63, 64, 65, 66, 100, 1000]);
    if (r.chance(0.5)) {
      const m = r.chance(0.1) ? 20_000 : n; // arrays: 2 bytes a level, far past the limit within a frame
      return `${'['.repeat(m)}${r.chance(0.5) ? '1' : ''}${']'.repeat(m)}`;
    }
    const open = r.pick(['{"a":', '{"$escape":', '{"msg":']);
    return `${open.repeat(n)}1${'}'.repeat(n)}`;
  }

  private garbage(): string {
    const r = this.rng;
    return r.weighted<() => string>([
      [3, () => Array.from({ length: r.range(0, 40) }, () => r.pick(MUTATION_CHARS)).join('')],
      [1, () => ''],
      [1, () => r.pick(['null', 'true', '0', '[]', '{}', '""', '"msg"', 'NaN', 'Infinity', 'undefined', '{"msg":}', "{'msg':'ping'}", '{"msg":"ping"}{"msg":"ping"}', '\ufeff{"msg":"ping"}'])],
      [2, () => String.fromCharCode(...Array.from({ length: r.range(1, 30) }, () => r.int(0x3000)))],
    ])();
  }

  /** Byte-level damage to a frame. */
  mutate(text: string): string {
    const r = this.rng;
    const times = r.range(1, 3);
    let s = text;
    for (let i = 0; i < times; i++) {
      const at = r.int(s.length + 1);
      s = r.weighted<() => string>([
        [3, () => s.slice(0, at)],
        [3, () => s.slice(0, at) + s.slice(at + r.range(1, 4))],
        [3, () => s.slice(0, at) + r.pick(MUTATION_CHARS) + s.slice(at)],
        [2, () => s.slice(0, at) + r.pick(MUTATION_CHARS) + s.slice(at + 1)],
        [1, () => s.slice(0, at) + s.slice(at, at + r.range(1, 20)).repeat(2) + s.slice(at + r.range(1, 20))],
        [1, () => s.replace(/"/, '')],
        [1, () => s.replace(/"([a-zA-Z]+)"/, (_m, w: string) => `"${r.chance(0.5) ? w.toUpperCase() : `${w}x`}"`)],
      ])();
    }
    return s;
  }

  /** A text frame just over `maxFrameBytes`. */
  private oversize(): string {
    const n = this.options.maxFrameBytes + this.rng.range(1, 4096);
    const head = '{"msg":"method","method":"fuzz.echo","id":"big","params":["';
    return head + 'z'.repeat(n - head.length) + '"]}';
  }
}
