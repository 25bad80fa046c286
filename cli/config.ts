/**
 * The configuration of `ddp-guard serve` (and of the `user` commands, which need the same
 * database): defaults ← config file ← environment variables ← flags, validated by the server's
 * own `resolveOptions`. A bad value is reported with where it came from — the flag, the
 * environment variable or the config file — because that is what the person has to fix.
 *
 * `loadServeConfig` is pure (no file or process access) so the precedence is unit-tested;
 * reading the file is `readConfigFile`'s job.
 * @module
 */
import path from 'node:path';
import type { LogLevel } from '../server/runtime/logger.js';
import { OptionError, resolveOptions, type ResolvedOptions, type ServerOptions } from '../server/services/options.js';
import { ENV_PREFIX, envVarName, isOptionName, OPTION_NAMES, optionFromText } from './config-values.js';
import { CliError, EXIT } from './exit-status.js';
import { OPTION_FLAGS } from './serve-flags.js';

/**
 * The flags of `serve` as commander hands them over (values still text; booleans as given):
 * the CLI settings below, and one attribute per option flag (see `serve-flags.ts`).
 */
export interface ServeFlags {
  config?: string;
  app?: string;
  logLevel?: string;
  [optionFlag: string]: string | boolean | undefined;
}

/** A config file's path (for messages and relative paths) and its text. */
export interface ConfigFileInput {
  path: string;
  text: string;
}

/** Input of {@link loadServeConfig}. */
export interface ServeConfigInput {
  argvOptions: ServeFlags;
  env: Readonly<Record<string, string | undefined>>;
  /** The config file named by `--config` or `DDP_GUARD_CONFIG`, already read; null when none. */
  configFile?: ConfigFileInput | null;
}

/** The merged configuration. */
export interface ServeConfig {
  /** The options that were set somewhere, validated; pass them to `createServer`. */
  options: ServerOptions;
  /** Every option, defaults included. */
  resolved: ResolvedOptions;
  /** The `--app` module path (relative to the working directory unless absolute), or null. */
  app: string | null;
  logLevel: LogLevel;
  /** Things worth a line on stderr that do not stop the start (unknown environment variables). */
  warnings: string[];
}

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['debug', 'info', 'warn', 'error', 'silent']);

/** Settings of the CLI itself (not server options), configurable in the same three places. */
type CliSetting = 'app' | 'logLevel' | 'config';
const CLI_SETTINGS: readonly CliSetting[] = ['app', 'logLevel', 'config'];

/** Options holding file-system paths: in a config file they are relative to the file. */
const PATH_OPTIONS: ReadonlySet<string> = new Set(['db', 'outboxDir', 'app']);

/** Where a value came from, as a person would find it again. */
type Source = { where: string };

/**
 * Merges defaults ← config file (JSON object; keys are the option names of
 * `server/services/options.ts`, plus `app` and `logLevel`) ← environment variables (`DDP_GUARD_` + the
 * option name in UPPER_SNAKE_CASE; numbers and booleans parsed; empty means unset) ← flags.
 * Paths in the config file (`db`, `outboxDir`, `app`) are relative to the file's folder.
 * @throws CliError (exit status 2) naming the option and where the bad value came from.
 */
export function loadServeConfig(input: ServeConfigInput): ServeConfig {
  const values = new Map<string, { value: unknown; source: Source }>();
  const warnings: string[] = [];
  if (input.configFile) readFileLayer(input.configFile, values);
  readEnvLayer(input.env, values, warnings);
  readFlagLayer(input.argvOptions, values);

  const options: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const entry = values.get(name);
    if (entry) options[name] = entry.value;
  }
  let resolved: ResolvedOptions;
  try {
    resolved = resolveOptions(options as ServerOptions);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    throw badValue(err.option, values.get(err.option)?.source, detailOf(err));
  }

  const logLevel = values.get('logLevel');
  if (logLevel && !LOG_LEVELS.includes(logLevel.value as LogLevel)) {
    throw badValue('logLevel', logLevel.source, `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel.value)}`);
  }
  const app = values.get('app');
  if (app && (typeof app.value !== 'string' || app.value === '')) {
    throw badValue('app', app.source, `expected the path of a JavaScript module, got ${JSON.stringify(app.value)}`);
  }
  return {
    options: options as ServerOptions,
    resolved,
    app: app ? (app.value as string) : null,
    logLevel: logLevel ? (logLevel.value as LogLevel) : 'info',
    warnings,
  };
}

/** The config file to read: `--config`, else `DDP_GUARD_CONFIG`, else none. */
export function configPathFrom(argvOptions: Pick<ServeFlags, 'config'>, env: Readonly<Record<string, string | undefined>>): string | null {
  if (argvOptions.config !== undefined) return argvOptions.config;
  const fromEnv = env[envVarName('config')];
  return fromEnv === undefined || fromEnv === '' ? null : fromEnv;
}

function readFileLayer(file: ConfigFileInput, values: Map<string, { value: unknown; source: Source }>): void {
  let data: unknown;
  try {
    data = JSON.parse(file.text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(`The config file ${file.path} is not valid JSON (${reason}): fix it or leave out --config.`, EXIT.usage);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CliError(`The config file ${file.path} must hold a JSON object of options, such as {"port": 3000}.`, EXIT.usage);
  }
  const folder = path.dirname(file.path);
  for (const [key, raw] of Object.entries(data)) {
    if (key === 'config' || (!isOptionName(key) && !CLI_SETTINGS.includes(key as CliSetting))) {
      throw new CliError(
        `The config file ${file.path} has an unknown key "${key}": use the option names of 'ddp-guard serve --help' (such as "port", "db", "smtpUrl").`,
        EXIT.usage,
      );
    }
    const value = PATH_OPTIONS.has(key) && typeof raw === 'string' && isFilePath(raw) ? path.resolve(folder, raw) : raw;
    values.set(key, { value, source: { where: `"${key}" in the config file ${file.path}` } });
  }
}

function readEnvLayer(
  env: Readonly<Record<string, string | undefined>>,
  values: Map<string, { value: unknown; source: Source }>,
  warnings: string[],
): void {
  const known = new Set<string>([envVarName('config')]);
  for (const name of OPTION_NAMES) {
    const variable = envVarName(name);
    known.add(variable);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    values.set(name, { value: optionFromText(name, text), source: { where: `the environment variable ${variable}` } });
  }
  for (const setting of ['app', 'logLevel'] as const) {
    const variable = envVarName(setting);
    known.add(variable);
    const text = env[variable];
    if (text === undefined || text === '') continue;
    values.set(setting, { value: text, source: { where: `the environment variable ${variable}` } });
  }
  for (const variable of Object.keys(env)) {
    if (variable.startsWith(ENV_PREFIX) && !known.has(variable)) {
      warnings.push(`Ignoring the environment variable ${variable}: ddp-guard has no such setting (see 'ddp-guard serve --help').`);
    }
  }
}

function readFlagLayer(flags: ServeFlags, values: Map<string, { value: unknown; source: Source }>): void {
  for (const { attribute, option, label } of OPTION_FLAGS) {
    const raw = flags[attribute];
    if (raw === undefined) continue;
    const value = typeof raw === 'string' ? optionFromText(option, raw) : raw;
    values.set(option, { value, source: { where: `the flag ${label}` } });
  }
  if (typeof flags.app === 'string') values.set('app', { value: flags.app, source: { where: 'the flag --app' } });
  if (typeof flags.logLevel === 'string') values.set('logLevel', { value: flags.logLevel, source: { where: 'the flag --log-level' } });
}

/** A plain path, as opposed to `memory`, `:memory:` or a URL such as `postgres://...`. */
function isFilePath(value: string): boolean {
  return value !== 'memory' && value !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

function detailOf(err: OptionError): string {
  const prefix = `option '${err.option}': `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

function badValue(option: string, source: Source | undefined, detail: string): CliError {
  const where = source ? ` from ${source.where}` : '';
  return new CliError(`Bad value for option '${option}'${where}: ${detail}; fix it and try again.`, EXIT.usage);
}
