/**
 * Text to option values: environment variables and flags are strings, options are numbers,
 * booleans, lists or strings. Each option's type is read from its default, so a new option in
 * `server/services/options.ts` is configurable from the environment without touching the CLI.
 * @module
 */
import { DEFAULTS, type Defaults } from '../server/services/options.js';

/** The name of a server option. */
export type OptionName = keyof Defaults;

/** Every server option name. */
export const OPTION_NAMES: readonly OptionName[] = Object.freeze(Object.keys(DEFAULTS) as OptionName[]);

/** Whether `key` names a server option. */
export function isOptionName(key: string): key is OptionName {
  return Object.prototype.hasOwnProperty.call(DEFAULTS, key);
}

/** The prefix of every environment variable the CLI reads. */
export const ENV_PREFIX = 'DDP_GUARD_';

/** `smtpUrl` → `DDP_GUARD_SMTP_URL`: the prefix and the name in UPPER_SNAKE_CASE. */
export function envVarName(name: string): string {
  return ENV_PREFIX + name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

const NUMBER = /^[+-]?\d+(\.\d+)?$/;
const BOOLEANS: Readonly<Record<string, boolean>> = Object.freeze({
  true: true,
  false: false,
  yes: true,
  no: false,
  on: true,
  off: false,
  '1': true,
  '0': false,
});

/**
 * Converts a text value to the option's type: numbers and booleans (`true/false`, `yes/no`,
 * `on/off`, `1/0`) are parsed, `allowedOrigins` and `webauthnOrigins` are comma-separated lists. Text that does not
 * parse is returned unchanged, so `resolveOptions` rejects it with its usual message.
 */
export function optionFromText(name: OptionName, text: string): unknown {
  const fallback: unknown = DEFAULTS[name];
  const trimmed = text.trim();
  if (typeof fallback === 'number') return NUMBER.test(trimmed) ? Number(trimmed) : text;
  if (typeof fallback === 'boolean') return BOOLEANS[trimmed.toLowerCase()] ?? text;
  if (name === 'allowedOrigins' || name === 'webauthnOrigins') {
    return trimmed
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
  }
  return text;
}
