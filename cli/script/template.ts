/**
 * Placeholders inside the JSON strings of a transcript: `{{name}}` inserts a variable,
 * `{{=name}}` (a whole string value of an expectation) captures, `{{totp:SECRET}}` inserts the
 * current TOTP code and may nest (`{{totp:{{secret}}}}`). Strings are parsed into segments
 * rather than expanded by repeated search-and-replace, so a variable's value is never read as
 * a placeholder itself.
 * @module
 */

/** A piece of a string: text as written, or a placeholder. */
export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string }
  | { kind: 'capture'; name: string }
  | { kind: 'totp'; secret: Segment[] };

/** A placeholder that does not parse; the parser adds the line number. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Whether `name` may name a variable: a letter or `_`, then letters, digits, `_`, `.`, `-`. */
export function isVariableName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Splits a string into text and placeholders.
 * @throws TemplateError on an unclosed `{{`, an empty or bad name, or a capture inside TOTP.
 */
export function parseTemplate(source: string): Segment[] {
  const [segments, end] = parseSegments(source, 0, false);
  if (end !== source.length) throw new TemplateError(`unexpected '}}' in "${source}"`);
  return segments;
}

/** Parses from `start` until the end, or until the `}}` closing a TOTP placeholder when `nested`. */
function parseSegments(source: string, start: number, nested: boolean): [Segment[], number] {
  const segments: Segment[] = [];
  let text = '';
  let i = start;
  const flush = (): void => {
    if (text !== '') segments.push({ kind: 'text', text });
    text = '';
  };
  while (i < source.length) {
    if (nested && source.startsWith('}}', i)) {
      flush();
      return [segments, i];
    }
    if (!source.startsWith('{{', i)) {
      text += source[i];
      i += 1;
      continue;
    }
    flush();
    const inner = i + 2;
    if (source.startsWith('totp:', inner)) {
      const [secret, close] = parseSegments(source, inner + 5, true);
      if (!source.startsWith('}}', close)) throw new TemplateError(`'{{totp:' is not closed with '}}' in "${source}"`);
      if (secret.length === 0) throw new TemplateError(`'{{totp:}}' needs a secret, as in {{totp:JBSWY3DPEHPK3PXP}} or {{totp:{{secret}}}}`);
      if (secret.some((s) => s.kind === 'capture')) throw new TemplateError(`a capture cannot be part of a TOTP secret in "${source}"`);
      segments.push({ kind: 'totp', secret });
      i = close + 2;
      continue;
    }
    const close = source.indexOf('}}', inner);
    if (close < 0) throw new TemplateError(`'{{' is not closed with '}}' in "${source}"`);
    const body = source.slice(inner, close);
    const capture = body.startsWith('=');
    const name = capture ? body.slice(1) : body;
    if (!isVariableName(name)) {
      throw new TemplateError(`bad placeholder '{{${body}}}': use {{name}}, {{=name}} or {{totp:SECRET}}, a name being letters, digits, '_', '.' or '-'`);
    }
    segments.push(capture ? { kind: 'capture', name } : { kind: 'var', name });
    i = close + 2;
  }
  flush();
  return [segments, i];
}

/** What expansion needs: variables, and TOTP codes from a secret. */
export interface ExpandContext {
  /** The value of a variable, or undefined when it is not set. */
  lookup(name: string): unknown;
  /** The TOTP code to use now for `secret`. */
  totp(secret: string): string;
}

/** A variable that is used but was never set or captured. */
export class UnsetVariableError extends Error {
  override name = 'UnsetVariableError';

  constructor(readonly variable: string) {
    super(`the variable '${variable}' is not set (set it with 'set ${variable}=...', --var ${variable}=... or capture it with "{{=${variable}}}")`);
  }
}

/** The value of a variable; throws {@link UnsetVariableError} when it has none. */
export function variableValue(ctx: ExpandContext, name: string): unknown {
  const value = ctx.lookup(name);
  if (value === undefined) throw new UnsetVariableError(name);
  return value;
}

/** A value as text inside a longer string: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One segment as text (a capture has no text; callers handle it first). */
export function segmentText(segment: Segment, ctx: ExpandContext): string {
  switch (segment.kind) {
    case 'text':
      return segment.text;
    case 'var':
      return asText(variableValue(ctx, segment.name));
    case 'totp':
      return ctx.totp(segment.secret.map((s) => segmentText(s, ctx)).join('').replace(/\s+/g, ''));
    case 'capture':
      throw new TemplateError(`"{{=${segment.name}}}" captures a value; it can only be a whole string value of a '<' line`);
  }
}

/**
 * Expands a string. A string that is exactly one `{{name}}` becomes the variable's value with
 * its JSON type (a captured object stays an object); otherwise the result is a string.
 */
export function expandString(source: string, ctx: ExpandContext): unknown {
  const segments = parseTemplate(source);
  const only = segments.length === 1 ? segments[0] : undefined;
  if (only?.kind === 'var') return variableValue(ctx, only.name);
  return segments.map((s) => segmentText(s, ctx)).join('');
}

/** Expands every string of a JSON value (object keys are left as written). */
export function expandValue(value: unknown, ctx: ExpandContext): unknown {
  if (typeof value === 'string') return expandString(value, ctx);
  if (Array.isArray(value)) return value.map((item) => expandValue(item, ctx));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties: a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandValue(item, ctx)]));
  }
  return value;
}

/** Calls `visit` on every string of a JSON value. */
export function forEachString(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) for (const item of value) forEachString(item, visit);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) forEachString(item, visit);
}
