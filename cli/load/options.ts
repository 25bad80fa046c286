/**
 * The flags of `ddp-guard load` turned into a checked plan, before anything connects: every
 * file read and parsed, every value checked, so a bad input is one clear line and nothing runs.
 * @module
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { CliError, EXIT } from '../exit-status.js';
import { parseTranscript, TranscriptSyntaxError, type Step } from '../script/parser.js';
import { isVariableName } from '../script/template.js';
import { parseTimeout, webSocketUrl } from '../values.js';
import type { LoadModel } from './driver.js';
import { loadScenario, type ScenarioFunction } from './scenario-vu.js';
import { parseThreshold, ThresholdSyntaxError, type Threshold } from './thresholds.js';
import { parseUsers, UsersFileError, type LoadUser } from './users.js';

/** The flags as commander hands them over. */
export interface LoadFlags {
  script?: string;
  scenario?: string;
  users?: string;
  vus?: string;
  rate?: string;
  duration?: string;
  ramp?: string;
  threshold?: string[];
  json?: string;
  html?: string;
  timeout?: string;
  var?: string[];
  localAddress?: string;
}

/** A checked plan. */
export interface LoadPlan {
  url: string;
  input: { kind: 'script'; file: string; steps: Step[] } | { kind: 'scenario'; file: string; scenario: ScenarioFunction };
  users: LoadUser[] | undefined;
  model: LoadModel;
  durationMs: number;
  rampMs: number;
  thresholds: Threshold[];
  json: string | undefined;
  html: string | undefined;
  timeoutMs: number;
  variables: Map<string, unknown>;
  localAddresses: string[];
}

export const DEFAULTS = Object.freeze({
  /** Closed model: virtual users. */
  vus: 10,
  /** Open model: the most virtual users when neither --vus nor --users says. */
  maxVus: 100,
  durationMs: 30_000,
  /** Wait for one expected message, a call or a connection (ms). */
  timeoutMs: 10_000,
});

const usage = (message: string): CliError => new CliError(message, EXIT.usage);

/** Checks every flag and reads every input. @throws CliError (exit status 2) on the first problem. */
export async function planLoad(urlText: string, flags: LoadFlags, cwd: string): Promise<LoadPlan> {
  const url = webSocketUrl(urlText);
  if ((flags.script === undefined) === (flags.scenario === undefined)) throw usage('Give either --script <transcript.ddp> or --scenario <module.mjs>.');
  const thresholds = (flags.threshold ?? []).map((text) => {
    try {
      return parseThreshold(text);
    } catch (err) {
      if (err instanceof ThresholdSyntaxError) throw usage(`--threshold: ${err.message}.`);
      throw err;
    }
  });
  const durationMs = flags.duration === undefined ? DEFAULTS.durationMs : parseDuration(flags.duration, '--duration');
  const rampMs = flags.ramp === undefined ? 0 : parseDuration(flags.ramp, '--ramp', true);
  if (rampMs > durationMs) throw usage(`--ramp (${flags.ramp}) is longer than --duration (${flags.duration ?? '30s'}).`);
  const timeoutMs = flags.timeout === undefined ? DEFAULTS.timeoutMs : parseTimeout(flags.timeout);
  const users = flags.users === undefined ? undefined : readUsers(path.resolve(cwd, flags.users));
  const vus = flags.vus === undefined ? undefined : positiveInteger(flags.vus, '--vus');
  let model: LoadModel;
  if (flags.rate !== undefined) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/s)?\s*$/.exec(flags.rate);
    if (!m || Number(m[1]) <= 0) throw usage(`--rate takes arrivals per second above 0, as in 50 or 50/s; got '${flags.rate}'.`);
    model = { kind: 'open', rate: Number(m[1]), maxVus: vus ?? users?.length ?? DEFAULTS.maxVus };
  } else model = { kind: 'closed', vus: vus ?? Math.min(DEFAULTS.vus, users?.length ?? DEFAULTS.vus) };
  const wanted = model.kind === 'closed' ? model.vus : model.maxVus;
  if (users && wanted > users.length) {
    throw usage(`${wanted} virtual users but ${users.length} account${users.length === 1 ? '' : 's'} in ${flags.users}: each virtual user logs in as its own line; add accounts or lower --vus.`);
  }
  const json = flags.json === undefined ? undefined : writableTarget(path.resolve(cwd, flags.json), '--json');
  const html = flags.html === undefined ? undefined : writableTarget(path.resolve(cwd, flags.html), '--html');
  const variables = parseVariables(flags.var ?? []);
  const localAddresses = flags.localAddress === undefined ? [] : flags.localAddress.split(',').map((a) => a.trim()).filter((a) => a !== '');
  let input: LoadPlan['input'];
  if (flags.script !== undefined) {
    const file = path.resolve(cwd, flags.script);
    input = { kind: 'script', file, steps: readTranscript(file) };
  } else {
    const file = path.resolve(cwd, flags.scenario!);
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw usage(`Cannot read the scenario ${file} (no such file).`);
    }
    try {
      input = { kind: 'scenario', file, scenario: await loadScenario(file) };
    } catch (err) {
      throw usage(`The scenario ${file} cannot be loaded: ${err instanceof Error ? err.message : String(err)}.`);
    }
  }
  return { url, input, users, model, durationMs, rampMs, thresholds, json, html, timeoutMs, variables, localAddresses };
}

/** `30s`, `2m`, `500ms`, `1h`, or a plain number of seconds. */
export function parseDuration(text: string, flag: string, allowZero = false): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  const value = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : NaN;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw usage(`${flag} takes a duration such as 30s, 2m or 500ms; got '${text}'.`);
  return value;
}

function positiveInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw usage(`${flag} takes a whole number above 0; got '${text}'.`);
  return Number(text);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw usage(`Cannot read the ${what} ${file} (${reason}).`);
  }
}

function readUsers(file: string): LoadUser[] {
  try {
    return parseUsers(readText(file, 'users file'));
  } catch (err) {
    if (err instanceof UsersFileError) throw usage(`${file}: ${err.message}.`);
    throw err;
  }
}

function readTranscript(file: string): Step[] {
  try {
    return parseTranscript(readText(file, 'transcript'));
  } catch (err) {
    if (err instanceof TranscriptSyntaxError) throw usage(`${file}:${err.line}: ${err.detail}; nothing was run.`);
    throw err;
  }
}

/** The report's folder must exist and be writable now, not after a 10-minute run. */
function writableTarget(file: string, flag: string): string {
  try {
    accessSync(path.dirname(file), constants.W_OK);
  } catch {
    throw usage(`${flag}: cannot write to ${path.dirname(file)} (no such folder, or not writable).`);
  }
  return file;
}

function parseVariables(specs: readonly string[]): Map<string, unknown> {
  const variables = new Map<string, unknown>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? '' : spec.slice(0, eq);
    if (!isVariableName(name)) throw usage(`--var takes name=value, the name being letters, digits, '_', '.' or '-'; got '${spec}'.`);
    variables.set(name, spec.slice(eq + 1));
  }
  return variables;
}
