/**
 * Reads the config file and merges the configuration for a command: the file-system half of
 * `config.ts`, which stays pure.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configPathFrom, loadServeConfig, type ConfigFileInput, type ServeConfig, type ServeFlags } from './config.js';
import { CliError, EXIT } from './exit-status.js';
import type { CliIo } from './io.js';

/**
 * Reads a config file (resolved against `cwd`).
 * @throws CliError (exit status 2) when it cannot be read.
 */
export function readConfigFile(file: string, cwd: string): ConfigFileInput {
  const absolute = path.resolve(cwd, file);
  try {
    return { path: absolute, text: readFileSync(absolute, 'utf8') };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new CliError(`Cannot read the config file ${absolute} (${reason}): check --config or DDP_GUARD_CONFIG.`, EXIT.usage);
  }
}

/** Merges defaults, the config file, the environment and `flags`; prints the warnings. */
export function loadConfig(flags: ServeFlags, io: CliIo): ServeConfig {
  const file = configPathFrom(flags, io.env);
  const config = loadServeConfig({
    argvOptions: flags,
    env: io.env,
    configFile: file === null ? null : readConfigFile(file, io.cwd),
  });
  for (const warning of config.warnings) io.err(`ddp-guard: ${warning}`);
  return config;
}
