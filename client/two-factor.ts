/**
 * The two-factor retry: when a call fails with `totp-required` or `totp-invalid`, ask the
 * application for a code and call again with it, as Rocket.Chat's clients do.
 */
import {
  DdpError,
  isTwoFactorMethod,
  type PasskeyRequestOptions,
  type TotpLoginArgument,
  type TwoFactorArgument,
  type TwoFactorErrorDetails,
} from '../protocol/index.js';
import { clientError } from './errors.js';

/** What the application is told when a code is needed. */
export interface TwoFactorChallenge {
  /** The server's details: the factor it wants, the factors the user has, whether an email code went out. */
  details: TwoFactorErrorDetails;
  /** The DDP method being called (`login` for a login). */
  method: string;
  /** 1 for the first code asked for this call, 2 for the next, … */
  attempt: number;
  /** True when the previous code was wrong (`totp-invalid`): say so to the user. */
  isRetryAfterInvalid: boolean;
  /** True when the server just emailed a code (`details.method === 'email' && details.codeGenerated`). */
  emailCodeSent: boolean;
  /** The error that prompted this challenge. */
  error: DdpError;
}

/** The application's answer: a code, and optionally another factor than the one asked for. */
export interface TwoFactorAnswer {
  code: string;
  /** One of `details.availableMethods`; defaults to `details.method`. */
  method?: string;
}

/** Collect a code from the user; return null to cancel the call. */
export type TwoFactorHandler = (challenge: TwoFactorChallenge) => Promise<TwoFactorAnswer | null> | TwoFactorAnswer | null;

/** Settings of one guarded call. */
export interface TwoFactorSettings {
  /** Without a handler, two-factor errors reach the caller unchanged. */
  handler: TwoFactorHandler | undefined;
  /** Codes to try before giving up with the last error. */
  maxAttempts: number;
}

/** One attempt of the call, with the parameters to send. */
export type Invoke = (params: unknown[]) => Promise<unknown>;

/** True when the error asks for a (new) code. `totp-max-attempts` does not: retrying is useless. */
export function isTwoFactorChallengeError(error: unknown): error is DdpError {
  return error instanceof DdpError && (error.error === 'totp-required' || error.error === 'totp-invalid');
}

function isMethodList(value: unknown): value is TwoFactorErrorDetails['availableMethods'] {
  return Array.isArray(value) && value.every(isTwoFactorMethod);
}

/** Read the details of a two-factor error; undefined when the server sent something else. */
export function readTwoFactorDetails(details: unknown): TwoFactorErrorDetails | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Record<string, unknown>;
  if (!isTwoFactorMethod(d.method) || typeof d.codeGenerated !== 'boolean') return undefined;
  const read: TwoFactorErrorDetails = {
    method: d.method,
    codeGenerated: d.codeGenerated,
    // Older servers omit the list; the factor asked for is then the only one known.
    availableMethods: isMethodList(d.availableMethods) ? d.availableMethods : [d.method],
  };
  if (d.codeExpires instanceof Date) read.codeExpires = d.codeExpires;
  if (typeof d.emailOrUsername === 'string') read.emailOrUsername = d.emailOrUsername;
  if (typeof d.lockedFor === 'number') read.lockedFor = d.lockedFor;
  if (d.reason === 'used') read.reason = 'used';
  if (typeof d.nextCodeIn === 'number') read.nextCodeIn = d.nextCodeIn;
  const passkey = d.passkeyOptions;
  if (typeof passkey === 'object' && passkey !== null && typeof (passkey as { challenge?: unknown }).challenge === 'string') {
    read.passkeyOptions = passkey as PasskeyRequestOptions;
  }
  return read;
}

/**
 * The parameters of the retry. For a method: the original ones plus
 * `{twoFactorCode, twoFactorMethod}` as the last. For `login`: `[{totp: {login, code}}]`, with
 * `method` inside `totp` whenever the factor is not the server's default (the first available):
 * a server that is not told picks its default, and would check an emailed code as TOTP.
 */
export function retryParams(method: string, params: readonly unknown[], answer: TwoFactorAnswer, details: TwoFactorErrorDetails): unknown[] {
  const factor = answer.method ?? details.method;
  if (method === 'login') {
    const totp: TotpLoginArgument['totp'] = { login: params[0], code: answer.code };
    if (factor !== details.method || factor !== (details.availableMethods[0] ?? details.method)) totp.method = factor;
    return [{ totp } satisfies TotpLoginArgument];
  }
  return [...params, { twoFactorCode: answer.code, twoFactorMethod: factor } satisfies TwoFactorArgument];
}

/**
 * One try of a guarded request: `answer` is undefined for the first try (unless a code was given
 * up front), else the handler's answer to `asked`, the details of the error that asked for it.
 */
export type TwoFactorAttempt<T> = (answer: TwoFactorAnswer | undefined, asked: TwoFactorErrorDetails | undefined) => Promise<T>;

/**
 * Try, and on each `totp-required`/`totp-invalid` ask `settings.handler` for a code and try
 * again with it. Stops with the last error after `maxAttempts` codes, at once on
 * `totp-max-attempts` (or any other error), and with `two-factor-cancelled` when the handler
 * returns null. The one retry loop of the client, for DDP calls and HTTP requests alike; `first`
 * is an answer known before the first try (a code given to an HTTP login).
 */
export async function retryWithTwoFactor<T>(method: string, attempt: TwoFactorAttempt<T>, settings: TwoFactorSettings, first?: TwoFactorAnswer): Promise<T> {
  let answer = first;
  let asked: TwoFactorErrorDetails | undefined;
  for (let attempts = 0; ; attempts += 1) {
    let lastError: DdpError;
    try {
      return await attempt(answer, asked);
    } catch (error) {
      if (!isTwoFactorChallengeError(error) || !settings.handler || attempts >= settings.maxAttempts) throw error;
      lastError = error;
    }
    const details = readTwoFactorDetails(lastError.details);
    if (!details) throw lastError;
    const reply = await settings.handler({
      details,
      method,
      attempt: attempts + 1,
      isRetryAfterInvalid: lastError.error === 'totp-invalid',
      emailCodeSent: details.method === 'email' && details.codeGenerated,
      error: lastError,
    });
    if (reply === null || reply === undefined) {
      throw clientError('twoFactorCancelled', undefined, { method, details });
    }
    if (typeof reply.code !== 'string') throw new TypeError('onTwoFactorRequired must return {code: string} or null');
    answer = reply;
    asked = details;
  }
}

/**
 * Call a DDP method with the two-factor retry ({@link retryWithTwoFactor}): the retries send
 * {@link retryParams}.
 */
export function callWithTwoFactor(method: string, params: readonly unknown[], invoke: Invoke, settings: TwoFactorSettings): Promise<unknown> {
  return retryWithTwoFactor(method, (answer, asked) => invoke(answer === undefined || asked === undefined ? [...params] : retryParams(method, params, answer, asked)), settings);
}
