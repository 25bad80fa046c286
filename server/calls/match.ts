/**
 * Parameter patterns, in the spirit of Meteor's `check`: `String`, `Number`, `Boolean`, literal
 * values, `[pattern]` for arrays, `{key: pattern}` for exact objects, and the `Match` helpers.
 * A mismatch throws {@link MatchError}, which reaches the client as 400 `Match failed`.
 */

class Special {
  constructor(readonly test: (value: unknown, path: string) => string | null) {}
}

/** A pattern. Plain objects match objects with exactly those keys. */
export type Pattern =
  | StringConstructor | NumberConstructor | BooleanConstructor | ObjectConstructor | DateConstructor
  | Uint8ArrayConstructor | null | undefined | string | number | boolean
  | Special | readonly [Pattern] | { readonly [key: string]: Pattern };

/** A parameter failed its pattern. `path` says where (e.g. `[1].tokenName`). */
export class MatchError extends Error {
  override name = 'MatchError';
  constructor(readonly path: string, readonly why: string) {
    super(`Match error: ${why}${path ? ` at ${path}` : ''}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function mismatch(value: unknown, pattern: Pattern, path: string): string | null {
  if (pattern instanceof Special) return pattern.test(value, path);
  if (pattern === String) return typeof value === 'string' ? null : `expected string, got ${describe(value)}`;
  if (pattern === Number) return typeof value === 'number' && !Number.isNaN(value) ? null : `expected number, got ${describe(value)}`;
  if (pattern === Boolean) return typeof value === 'boolean' ? null : `expected boolean, got ${describe(value)}`;
  if (pattern === Object) return isPlainObject(value) ? null : `expected object, got ${describe(value)}`;
  if (pattern === Date) return value instanceof Date && !Number.isNaN(value.getTime()) ? null : `expected Date, got ${describe(value)}`;
  if (pattern === Uint8Array) return value instanceof Uint8Array ? null : `expected binary, got ${describe(value)}`;
  if (pattern === null || pattern === undefined || typeof pattern !== 'object') {
    return value === pattern ? null : `expected ${JSON.stringify(pattern)}, got ${describe(value)}`;
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(value)) return `expected array, got ${describe(value)}`;
    for (let i = 0; i < value.length; i++) {
      const why = mismatch(value[i], pattern[0] as Pattern, `${path}[${i}]`);
      if (why !== null) throw new MatchError(`${path}[${i}]`, why);
    }
    return null;
  }
  return objectMismatch(value, pattern as Record<string, Pattern>, path, false);
}

function objectMismatch(value: unknown, shape: Record<string, Pattern>, path: string, allowOthers: boolean): string | null {
  if (!isPlainObject(value)) return `expected object, got ${describe(value)}`;
  for (const key of Object.keys(value)) {
    if (!(key in shape) && !allowOthers) throw new MatchError(`${path}.${key}`, 'unknown key');
  }
  for (const [key, sub] of Object.entries(shape)) {
    const why = key in value ? mismatch(value[key], sub, `${path}.${key}`) : (isOptional(sub) ? null : 'missing key');
    if (why !== null) throw new MatchError(`${path}.${key}`, why);
  }
  return null;
}

const OPTIONAL = new WeakSet<Special>();
function isOptional(pattern: Pattern): boolean {
  return pattern instanceof Special && OPTIONAL.has(pattern);
}

/** Pattern helpers. */
export const Match = Object.freeze({
  /** Anything. */
  Any: new Special(() => null),
  /** A whole number in the safe range. */
  Integer: new Special((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? null : `expected integer, got ${describe(v)}`)),
  /** A string of at most `maxLength` characters (and at least `minLength`). */
  Text(maxLength: number, minLength = 0): Special {
    return new Special((v) => {
      if (typeof v !== 'string') return `expected string, got ${describe(v)}`;
      if (v.length > maxLength) return `string longer than ${maxLength}`;
      if (v.length < minLength) return `string shorter than ${minLength}`;
      return null;
    });
  },
  /** `undefined` or the pattern; as an object key, the key may be missing. */
  Optional(pattern: Pattern): Special {
    const special = new Special((v, path) => (v === undefined ? null : mismatch(v, pattern, path)));
    OPTIONAL.add(special);
    return special;
  },
  /** `undefined`, `null` or the pattern. */
  Maybe(pattern: Pattern): Special {
    const special = new Special((v, path) => (v === undefined || v === null ? null : mismatch(v, pattern, path)));
    OPTIONAL.add(special);
    return special;
  },
  /** Any one of the patterns. */
  OneOf(...patterns: Pattern[]): Special {
    return new Special((v, path) => {
      for (const p of patterns) {
        try {
          if (mismatch(v, p, path) === null) return null;
        } catch (err) {
          if (!(err instanceof MatchError)) throw err;
        }
      }
      return 'matched none of the allowed patterns';
    });
  },
  /** An object with at least these keys (others allowed). */
  ObjectIncluding(shape: Record<string, Pattern>): Special {
    return new Special((v, path) => objectMismatch(v, shape, path, true));
  },
  /** A predicate; returning false (or throwing MatchError) fails. */
  Where(predicate: (value: unknown) => boolean): Special {
    return new Special((v) => (predicate(v) ? null : 'failed a condition'));
  },
});

/** Throw {@link MatchError} unless `value` matches `pattern`. */
export function check(value: unknown, pattern: Pattern, path = ''): void {
  const why = mismatch(value, pattern, path);
  if (why !== null) throw new MatchError(path, why);
}

/** True when `value` matches `pattern`. */
export function matches(value: unknown, pattern: Pattern): boolean {
  try {
    check(value, pattern);
    return true;
  } catch (err) {
    if (err instanceof MatchError) return false;
    throw err;
  }
}

/**
 * Check a parameter list against one pattern per parameter. Missing trailing parameters are
 * `undefined` (so `Match.Optional` allows them); extra parameters fail.
 */
export function checkParams(params: readonly unknown[], patterns: readonly Pattern[]): void {
  if (params.length > patterns.length) throw new MatchError(`[${patterns.length}]`, `expected at most ${patterns.length} parameters, got ${params.length}`);
  for (let i = 0; i < patterns.length; i++) check(params[i], patterns[i], `[${i}]`);
}
