/**
 * Matching a received DDP message against the pattern of a `<` line. The pattern is compiled
 * once per expectation (variables and TOTP codes are read then), and the compiled matcher is
 * tried on each message until one matches.
 *
 * Rules (also in the format description of `parser.ts`):
 * - an object matches an object that has every field of the pattern (extra fields are fine);
 * - an array matches an array of the same length, item by item;
 * - numbers, booleans and null match equal values;
 * - a string matches a string; `*` in it matches any text (`\*` is a literal star); a string of
 *   stars only, such as `"*"`, matches any value at all, objects included;
 * - `"{{=name}}"` matches any value and captures it into `name` (kept only if the whole
 *   message matches); `"{{name}}"` alone matches the variable's value, whatever its type;
 *   inside a longer string a variable or TOTP code is matched literally (its `*` are no
 *   wildcards).
 * @module
 */
import { parseTemplate, segmentText, variableValue, type ExpandContext, type Segment } from './template.js';

/** A compiled pattern: true when `actual` matches, adding captures to `captures`. */
export type Matcher = (actual: unknown, captures: Map<string, unknown>) => boolean;

/** Compiles a pattern. @throws UnsetVariableError when it uses a variable that has no value. */
export function compilePattern(pattern: unknown, ctx: ExpandContext): Matcher {
  if (typeof pattern === 'string') return compileString(pattern, ctx);
  if (Array.isArray(pattern)) {
    const items = pattern.map((item) => compilePattern(item, ctx));
    return (actual, captures) => {
      if (!Array.isArray(actual) || actual.length !== items.length) return false;
      for (let i = 0; i < items.length; i++) if (!items[i]!(actual[i], captures)) return false;
      return true;
    };
  }
  if (typeof pattern === 'object' && pattern !== null) {
    // Plain loops over two arrays: a load run matches every message it expects.
    const entries = Object.entries(pattern);
    const keys = entries.map(([key]) => key);
    const matchers = entries.map(([, value]) => compilePattern(value, ctx));
    return (actual, captures) => {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (!hasOwn.call(actual, key) || !matchers[i]!((actual as Record<string, unknown>)[key], captures)) return false;
      }
      return true;
    };
  }
  return (actual) => actual === pattern;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Tries `matcher` on `actual`; the captures when it matches, else null. */
export function tryMatch(matcher: Matcher, actual: unknown): Map<string, unknown> | null {
  const captures = new Map<string, unknown>();
  return matcher(actual, captures) ? captures : null;
}

function compileString(source: string, ctx: ExpandContext): Matcher {
  const segments = parseTemplate(source);
  const only = segments.length === 1 ? segments[0] : undefined;
  if (only?.kind === 'capture') {
    const { name } = only;
    return (actual, captures) => {
      captures.set(name, actual);
      return true;
    };
  }
  if (only?.kind === 'var') {
    const expected = variableValue(ctx, only.name);
    return (actual) => jsonEqual(actual, expected);
  }
  if (segments.length > 0 && segments.every((s) => s.kind === 'text' && /^\*+$/.test(s.text))) return () => true;
  if (segments.every((s) => s.kind !== 'text' || !s.text.includes('*'))) {
    // No wildcard: the regex would be `^literal$`, which matches the literal only.
    const literal = segments.map((s) => segmentText(s, ctx)).join('');
    return (actual) => actual === literal;
  }
  const regex = new RegExp(`^${segments.map((s) => segmentRegex(s, ctx)).join('')}$`, 's');
  return (actual) => typeof actual === 'string' && regex.test(actual);
}

/** Text: `*` is a wildcard, `\*` a star; placeholders: their value, literally. */
function segmentRegex(segment: Segment, ctx: ExpandContext): string {
  if (segment.kind !== 'text') return escapeRegex(segmentText(segment, ctx));
  return segment.text
    .split(/(\\\*|\*)/)
    .map((part) => (part === '*' ? '.*' : part === '\\*' ? '\\*' : escapeRegex(part)))
    .join('');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Equality of JSON values: objects by their fields whatever the order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
