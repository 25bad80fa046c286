/**
 * TOTP codes for virtual users that log in again and again. A server accepts each 30-s step
 * once per user and one step of drift, so a user can pass TOTP at most twice in a step; a third
 * time waits for the next step instead of sending a code that would be refused. The wait is
 * reported so it is not counted as the server's latency.
 * @module
 */
import { generateTotpCode, totpStep, TOTP_DEFAULTS } from '../../server/two-factor/totp.js';
import { normalizeSecret } from '../script/totp-codes.js';

const STEP_MS = TOTP_DEFAULTS.periodSeconds * 1000;

/** Hands out usable codes per secret, waiting when both usable steps are spent. */
export class TotpPacer {
  readonly #lastStep = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The code to send, and how long was waited for it (ms). @throws Error for a secret that is not base32. */
  async next(secret: string, abort?: AbortSignal): Promise<{ code: string; waitedMs: number }> {
    let waitedMs = 0;
    for (;;) {
      const got = this.tryNow(secret);
      if (typeof got === 'string') return { code: got, waitedMs };
      await sleep(got.waitMs, abort);
      if (abort?.aborted) throw new Error('stopped');
      waitedMs += got.waitMs;
    }
  }

  /** A code usable now, or how long to wait for one. @throws Error for a secret that is not base32. */
  tryNow(secret: string): string | { waitMs: number } {
    const normalized = normalizeSecret(secret);
    const now = this.now();
    const current = totpStep(now);
    const last = this.#lastStep.get(normalized) ?? -Infinity;
    const step = last < current ? current : last === current ? current + 1 : undefined;
    if (step === undefined) return { waitMs: (current + 1) * STEP_MS - now + 5 };
    this.#lastStep.set(normalized, step);
    return generateTotpCode(normalized, step * STEP_MS);
  }
}

/** Thrown by a transcript's `{{totp:…}}` when both usable steps of the secret are spent. */
export class TotpWait extends Error {
  constructor(readonly waitMs: number) {
    super(`the next TOTP step comes in ${waitMs} ms`);
  }
}

/** Resolves after `ms`, or at once when `abort` fires. */
export function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}
