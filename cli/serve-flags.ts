/**
 * One `serve` flag per server option, made from `DEFAULTS` (names, types) and `OPTION_HELP`
 * (its TSDoc), so a new option has its flag without touching the CLI and the two cannot
 * drift: `trustedClientMs` is `--trusted-client-ms <ms>`, a boolean such as `accountPage` is
 * `--account-page` / `--no-account-page`. A few short spellings stay as aliases (`--smtp`,
 * `--redis`, `-p`).
 * @module
 */
import { Option, type Command } from 'commander';
import { DEFAULTS } from '../server/services/options.js';
import { OPTION_HELP } from './option-help.js';
import { OPTION_NAMES, type OptionName } from './config-values.js';

/** A flag that sets an option. */
export interface OptionFlag {
  option: OptionName;
  /** How the command line spells it, e.g. `--trusted-client-ms`. */
  label: string;
  /** Where commander puts its value. */
  attribute: string;
}

/** `trustedClientMs` → `trusted-client-ms`. */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Shorter spellings kept from earlier versions (and the documentation's examples). */
const ALIASES: ReadonlyArray<{ option: OptionName; flags: string; attribute: string }> = [
  { option: 'smtpUrl', flags: '--smtp <url>', attribute: 'smtp' },
  { option: 'redisUrl', flags: '--redis <url>', attribute: 'redis' },
];

/** Every flag that sets an option, aliases included (later ones win when both are given). */
export const OPTION_FLAGS: readonly OptionFlag[] = Object.freeze([
  ...ALIASES.map(({ option, flags, attribute }) => ({ option, label: flags.split(' ')[0]!, attribute })),
  ...OPTION_NAMES.map((option) => ({ option, label: `--${kebabCase(option)}`, attribute: option })),
]);

function placeholder(option: OptionName): string {
  if (option === 'db') return '<file|:memory:|memory|postgres://...>';
  if (option === 'allowedOrigins' || option === 'webauthnOrigins') return '<origin,...>';
  if (option.endsWith('Url')) return '<url>';
  if (option.endsWith('Ms')) return '<ms>';
  if (option.endsWith('Bytes')) return '<bytes>';
  if (option.endsWith('Dir')) return '<folder>';
  return typeof DEFAULTS[option] === 'number' ? '<n>' : '<value>';
}

function defaultText(option: OptionName): string {
  const value: unknown = DEFAULTS[option];
  if (value === null) return 'none';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Adds the option flags to `serve`. */
export function addOptionFlags(command: Command): Command {
  for (const option of OPTION_NAMES) {
    const flag = `--${kebabCase(option)}`;
    const help = `${OPTION_HELP[option]} (default ${defaultText(option)})`;
    if (typeof DEFAULTS[option] === 'boolean') {
      command.addOption(new Option(flag, help));
      const off = DEFAULTS[option] ? 'turn it off' : 'turn it off when the config file or the environment turns it on';
      command.addOption(new Option(`--no-${kebabCase(option)}`, `${off} (${option})`));
    } else {
      command.addOption(new Option(`${option === 'port' ? '-p, ' : ''}${flag} ${placeholder(option)}`, help));
    }
    for (const alias of ALIASES.filter((a) => a.option === option)) command.addOption(new Option(alias.flags, `the same as ${flag}`));
  }
  return command;
}
