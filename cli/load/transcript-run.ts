/**
 * One iteration of a transcript virtual user, run as a state machine: the steps run one after
 * the other until one has to wait (an expectation no message met yet, a `sleep`, a TOTP code
 * whose step is spent); the message that meets the expectation, handed over by the socket's
 * message handler, runs the next steps at once. No promise per step: a long transcript runs
 * thousands of steps a second, and a promise, a closure and a microtask per step were a good
 * part of the load generator's CPU time.
 * @module
 */
import { compilePattern, type Matcher } from '../script/pattern.js';
import { expandString, expandValue, type ExpandContext } from '../script/template.js';
import type { Recorder } from './stats.js';
import { sleep, TotpWait, type TotpPacer } from './totp-pacer.js';
import { frameInfo, type FrameInfo, type PreparedStep } from './transcript-steps.js';

/** Whether a message meets the expectation being run (its captures are then kept). */
export type Accept = (m: unknown) => boolean;

/** What a run needs of its connection. */
export interface RunSession {
  readonly closed: boolean;
  /** Sends a text frame given as its UTF-8 bytes; `frame` says what it is, for timing its answer. */
  send(bytes: Buffer, frame: FrameInfo): void;
  /** The oldest backlog message `accept` takes (only among `msgKind` when given), removed; else undefined. */
  takeNow(accept: Accept, msgKind: string | undefined): unknown;
  /** Waits for the first new message `accept` takes: `done` gets it, or undefined on timeout, close or stop. */
  wait(accept: Accept, timeoutMs: number, msgKind: string | undefined, done: (m: unknown) => void): void;
}

/** What every run shares. */
export interface RunShared {
  steps: readonly PreparedStep[];
  timeoutMs: number;
  recorder: Recorder;
  /** Codes for `{{totp:…}}`. */
  pacer: TotpPacer;
  /** Aborted when the load run stops: sleeps and waits end at once. */
  stop: AbortSignal;
}

/** The steps of one iteration over one connection. */
export class TranscriptRun {
  #index = 0;
  #ended = false;
  #matcher: Matcher | undefined;
  /** The captures of the last message tried (cleared before each try). */
  readonly #captures = new Map<string, unknown>();
  readonly #ctx: ExpandContext;

  constructor(
    private readonly shared: RunShared,
    private readonly session: RunSession,
    private readonly variables: Map<string, unknown>,
    private readonly onEnd: () => void,
  ) {
    // `{{totp:…}}` takes codes from the same pacer as the automatic answers: a user's code is
    // never one the server already took, and when both usable steps are spent the send waits.
    this.#ctx = {
      lookup: (name) => variables.get(name),
      totp: (secret) => {
        const got = shared.pacer.tryNow(secret);
        if (typeof got === 'string') return got;
        throw new TotpWait(got.waitMs);
      },
    };
  }

  readonly #accept: Accept = (m) => {
    // `Map.prototype.clear` allocates a new table even for an empty map (66 ns a message
    // against 3 for the size check, and garbage): most expectations capture nothing.
    if (this.#captures.size > 0) this.#captures.clear();
    return this.#matcher!(m, this.#captures);
  };

  /** The waiting expectation got its message (or undefined). */
  readonly #met = (m: unknown): void => {
    if (!this.#expectationMet(m)) return this.#end();
    this.#index++;
    this.advance();
  };

  readonly #resume = (): void => this.advance();

  /** Runs steps from the current one until one has to wait, or to the end. */
  advance(): void {
    const { shared, session } = this;
    try {
      for (; this.#index < shared.steps.length; this.#index++) {
        if (shared.stop.aborted || session.closed) break;
        const prepared = shared.steps[this.#index]!;
        const { step } = prepared;
        if (step.kind === 'set') this.variables.set(step.name, expandString(step.value, this.#ctx));
        else if (step.kind === 'sleep') {
          this.#index++;
          void sleep(step.ms, shared.stop).then(this.#resume);
          return;
        } else if (step.kind === 'send') {
          if (prepared.bytes !== undefined) session.send(prepared.bytes, prepared.frame!);
          else if (!this.#sendExpanded(step.message)) return;
        } else {
          this.#matcher = prepared.matcher ?? compilePattern(step.pattern, this.#ctx);
          const found = session.takeNow(this.#accept, prepared.msgKind);
          if (found === undefined && !session.closed && !shared.stop.aborted) {
            session.wait(this.#accept, shared.timeoutMs, prepared.msgKind, this.#met);
            return;
          }
          if (!this.#expectationMet(found)) break;
        }
      }
    } catch (err) {
      shared.recorder.error(`transcript-error: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#end();
  }

  /** Sends a frame with placeholders; false when it has to wait for a TOTP step first (the run resumes after). */
  #sendExpanded(template: unknown): boolean {
    let message: unknown;
    try {
      message = expandValue(template, this.#ctx);
    } catch (err) {
      if (!(err instanceof TotpWait)) throw err;
      void sleep(err.waitMs, this.shared.stop).then(this.#resume);
      return false;
    }
    this.session.send(Buffer.from(JSON.stringify(message)), frameInfo(message));
    return true;
  }

  /** Keeps the captures of the message that met the expectation; false (the run ends) when none did. */
  #expectationMet(m: unknown): boolean {
    if (this.shared.stop.aborted) return false;
    if (m === undefined) {
      const { line } = this.shared.steps[this.#index]!.step;
      this.shared.recorder.error(this.session.closed ? 'connection-closed' : `expect-timeout (line ${line})`);
      return false;
    }
    if (this.#captures.size > 0) for (const [name, value] of this.#captures) this.variables.set(name, value);
    return true;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd();
  }
}
