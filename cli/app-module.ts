/**
 * Loads the application module of `serve --app <module>`: a module whose default export is
 * `(server) => void | Promise<void>` and receives the server before it listens.
 * @module
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GuardServer } from '../server/index.js';
import { CliError, EXIT } from './exit-status.js';

/** What an application module exports as default. */
export type AppSetup = (server: GuardServer) => void | Promise<void>;

/**
 * Imports `modulePath` (relative to `cwd`) and returns its default export.
 * @throws CliError (exit status 2) for a missing file or a module without a default
 *   function; (exit status 1) when the module throws while loading.
 */
export async function loadApp(modulePath: string, cwd: string): Promise<AppSetup> {
  const file = path.resolve(cwd, modulePath);
  if (!isFile(file)) {
    throw new CliError(`The app module ${file} does not exist: check the path given to --app.`, EXIT.usage);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(`The app module ${file} failed to load (${reason}): fix the error in the module.`, EXIT.failure);
  }
  const setup = defaultFunction(mod);
  if (!setup) {
    throw new CliError(
      `The app module ${file} has no default export function: add 'export default (server) => { server.methods({...}); }'.`,
      EXIT.usage,
    );
  }
  return setup;
}

/** The default export, also when a CommonJS module was compiled from ESM (`exports.default`). */
function defaultFunction(mod: Record<string, unknown>): AppSetup | null {
  const exported = mod['default'];
  if (typeof exported === 'function') return exported as AppSetup;
  if (typeof exported === 'object' && exported !== null) {
    const nested = (exported as Record<string, unknown>)['default'];
    if (typeof nested === 'function') return nested as AppSetup;
  }
  return null;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
