/**
 * Calls that may need a second factor, as the page makes them: the client's
 * `onTwoFactorRequired` goes through the code dialog, and every call ends by closing the
 * dialog, or by showing a lock-out in it.
 */
import { DdpError, passkeyAssertion, sha256Hex, type TwoFactorAnswer, type TwoFactorChallenge } from '../client/index.js';
import type { CodeDialog, Factor } from './code-dialog.js';
import { setStatus, type StatusKind } from './dom.js';
import { errorCode, errorText, passkeyProblem } from './messages.js';

/** An error the user has already seen (in the dialog): nothing more to say. */
export class Shown extends Error {
  constructor(override readonly cause: unknown) {
    super('shown in the code dialog');
  }
}

function factorOf(value: unknown): Factor {
  return value === 'email' || value === 'password' || value === 'passkey' ? value : 'totp';
}

function lockDetails(error: DdpError): { factor: Factor; lockedFor: number | undefined } {
  const details = (typeof error.details === 'object' && error.details !== null ? error.details : {}) as Record<string, unknown>;
  return { factor: factorOf(details.method), lockedFor: typeof details.lockedFor === 'number' ? details.lockedFor : undefined };
}

export class Guarded {
  constructor(private readonly dialog: CodeDialog) {}

  /**
   * The client's `onTwoFactorRequired`: ask in the dialog, answer with the code (or switch
   * factor). A passkey is answered with the browser's WebAuthn prompt; when the user closes
   * that prompt (or it fails) the dialog asks again, with the other factors still offered.
   */
  readonly onTwoFactorRequired = async (challenge: TwoFactorChallenge): Promise<TwoFactorAnswer | null> => {
    const { details } = challenge;
    let problem: string | undefined;
    for (;;) {
      const answer = await this.dialog.ask({
        method: challenge.method,
        factor: details.method,
        availableMethods: details.availableMethods,
        invalid: challenge.isRetryAfterInvalid,
        emailCodeSent: challenge.emailCodeSent,
        passkeyProblem: problem,
        codeExpires: details.codeExpires,
        usedWaitMs: details.reason === 'used' ? details.nextCodeIn ?? 0 : undefined,
      });
      if (!answer) return null;
      // An empty code for another factor makes the server prepare that one (and email a code).
      if (answer.switched) return { code: '', method: answer.method };
      if (answer.method !== 'passkey') return codeAnswer(answer.method, answer.code);
      // No options yet (not the factor asked for): an empty answer makes the server send them.
      if (details.passkeyOptions === undefined) return { code: '', method: 'passkey' };
      try {
        return { code: await passkeyAssertion(details.passkeyOptions), method: 'passkey' };
      } catch (error) {
        problem = passkeyProblem(error);
      }
    }
  };

  /**
   * Run a call that may ask for a code through the client's retry. Resolves with its result;
   * rejects with the error, or with {@link Shown} when the dialog already shows a lock-out.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.dialog.close();
      return result;
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /**
   * For methods that take the code as their own parameter (`2fa:disable`,
   * `2fa:regenerateCodes`): ask for a TOTP or backup code, call, and ask again while the code is
   * wrong. Resolves with null when the user cancels.
   */
  async runWithCode<T>(method: string, call: (code: string) => Promise<T>): Promise<T | null> {
    let invalid = false;
    for (;;) {
      const answer = await this.dialog.ask({ method, factor: 'totp', availableMethods: [], invalid, emailCodeSent: false });
      if (!answer) return null;
      try {
        const result = await call(answer.code);
        this.dialog.close();
        return result;
      } catch (error) {
        if (errorCode(error) === 'totp-invalid') {
          invalid = true;
          continue;
        }
        throw this.#fail(error);
      }
    }
  }

  #fail(error: unknown): unknown {
    if (error instanceof DdpError && error.error === 'totp-max-attempts') {
      const { factor, lockedFor } = lockDetails(error);
      this.dialog.showLocked(factor, lockedFor);
      return new Shown(error);
    }
    this.dialog.close();
    return error;
  }
}

/** A code as the server takes it: the password fallback wants the password's sha-256 digest, as the login does. */
function codeAnswer(method: Factor, code: string): TwoFactorAnswer {
  return { code: method === 'password' ? sha256Hex(code) : code, method };
}

/** Say what went wrong in the status line (or nothing, when the dialog said it). */
export function reportError(error: unknown, prefix = ''): void {
  if (error instanceof Shown) {
    setStatus(`${prefix}Too many wrong codes: try again later.`, 'error');
    return;
  }
  const kind: StatusKind = errorCode(error) === 'two-factor-cancelled' ? 'info' : 'error';
  setStatus(`${prefix}${errorText(error)}`, kind);
}
