/**
 * A re-sent call runs once. After a reconnect a DDP client sends again the calls that got no
 * result; the server may have run them already. The outcome of every call with a `randomSeed`
 * and a user is kept in the store (every process sees it) for `callResultWindowMs`: a call that
 * arrives again with the same user and seed is answered with the first outcome, or waits for it
 * while the first attempt still runs (in this process or another).
 *
 * Outcomes are sealed (AES-256-GCM, bound to the user and seed) before they are stored: a
 * copy of the database does not show what the calls returned. Methods whose result is a
 * credential (`secretResult`) are not remembered at all — the dispatcher does not come here.
 */
import { decode, encode } from '../../protocol/ejson.js';
import { DdpError, catalogueError, isWireError, type WireError } from '../../protocol/errors.js';
import type { Clock } from '../runtime/clock.js';
import { errorFields, silentLogger, type Logger } from '../runtime/logger.js';
import type { CallResultStore } from '../storage/contract.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { toWireError } from './wire-errors.js';

/** How long outcomes are kept and how long a re-sent call waits for the first attempt. */
export interface CallMemoryOptions {
  /** Outcomes are kept this long after the call started, in ms. */
  readonly windowMs: number;
  /** A re-sent call waits this long for a first attempt that is still running, in ms. */
  readonly waitMs: number;
}

/** The key and the steps of one call, as the dispatcher hands them over. */
export interface RememberedCall {
  readonly userId: string;
  readonly seed: string;
  /** The hook pipeline: a refusal here forgets the claim (the same seed may try again). */
  gate(): void | Promise<void>;
  /** The handler. */
  handle(): unknown;
  /** The caller's user now: an outcome is kept only when the call did not change it (login, logout). */
  userIdNow(): string | null;
}

/** Seals outcome text at rest; `SecretBox` is one. `open` throws when the text was not sealed for `context`. */
export interface OutcomeSealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/** Where outcomes are kept, and how they are sealed. */
export interface OutcomeStore {
  readonly results: CallResultStore;
  readonly box: OutcomeSealer;
}

/** What is sealed and stored: the result, or the client-safe error, as EJSON text. */
type Outcome = { result: unknown } | { error: WireError };

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 200;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const contextOf = (call: RememberedCall): string => `${call.userId}\u0000${call.seed}`;

function replay(outcomes: OutcomeStore, call: RememberedCall, sealed: string, logger: Logger): unknown {
  let outcome: Outcome;
  try {
    outcome = decode(outcomes.box.open(sealed, contextOf(call))) as Outcome;
  } catch (err) {
    // Sealed with another server secret, or altered: the first outcome cannot be told.
    logger.warn({ ...errorFields(err), userId: call.userId }, 'a remembered call outcome could not be opened');
    throw catalogueError('callOutcomeUnknown');
  }
  if ('error' in outcome && isWireError(outcome.error)) throw DdpError.fromWire(outcome.error);
  return (outcome as { result: unknown }).result;
}

export class CallMemory {
  /** Calls claimed by this process, by key: resolves when each ends (waiters here need no polling). */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly outcomes: () => OutcomeStore | Promise<OutcomeStore>,
    private readonly clock: Clock,
    private readonly options: CallMemoryOptions,
    private readonly logger: () => Logger,
  ) {}

  /** Runs the call once per user and seed within the window; see the module comment. */
  async run(call: RememberedCall): Promise<unknown> {
    const outcomes = await this.outcomes();
    const store = outcomes.results;
    // Waiting is measured on the real clock: a test's frozen clock must not make it endless.
    const deadline = performance.now() + this.options.waitMs;
    for (;;) {
      const now = this.clock.now();
      const claim = await store.claim(call.userId, call.seed, new Date(now), new Date(now + this.options.windowMs));
      if (claim.state === 'claimed') return this.runClaimed(outcomes, call);
      if (claim.state === 'done') return replay(outcomes, call, claim.outcome, this.logger());
      const found = await this.waitFor(store, call, deadline);
      if (found === 'released') continue;
      if (found !== 'timeout') return replay(outcomes, call, found, this.logger());
      throw catalogueError('callOutcomeUnknown');
    }
  }

  private async runClaimed(outcomes: OutcomeStore, call: RememberedCall): Promise<unknown> {
    const store = outcomes.results;
    const key = contextOf(call);
    let ended!: () => void;
    this.running.set(key, new Promise<void>((resolve) => (ended = resolve)));
    try {
      try {
        await call.gate();
      } catch (err) {
        await this.release(store, call);
        throw err;
      }
      let outcome: Outcome;
      let failure: { err: unknown } | null = null;
      try {
        outcome = { result: await call.handle() };
      } catch (err) {
        failure = { err };
        outcome = { error: toWireError(err, silentLogger, {}) };
      }
      if (failure?.err instanceof StoreUnavailableError || call.userIdNow() !== call.userId) {
        // A 503 wrote nothing and may be tried again; a login or logout belongs to its connection.
        await this.release(store, call);
      } else {
        await this.complete(outcomes, call, outcome);
      }
      if (failure) throw failure.err;
      return (outcome as { result: unknown }).result;
    } finally {
      this.running.delete(key);
      ended();
    }
  }

  /** Waits for the first attempt's outcome text, or `released` (claim again), or `timeout`. */
  private async waitFor(store: CallResultStore, call: RememberedCall, deadline: number): Promise<string | 'released' | 'timeout'> {
    const key = contextOf(call);
    let pause = FIRST_POLL_MS;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      const here = this.running.get(key);
      if (here) await Promise.race([here, sleep(left)]);
      else await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      const found = await store.get(call.userId, call.seed, new Date(this.clock.now()));
      if (found === null) return 'released';
      if (found.state === 'done') return found.outcome;
    }
  }

  private async complete(outcomes: OutcomeStore, call: RememberedCall, outcome: Outcome): Promise<void> {
    const store = outcomes.results;
    let text: string;
    try {
      text = outcomes.box.seal(encode(outcome), contextOf(call));
    } catch {
      // EJSON cannot carry this result (the reply fails the same way): nothing to replay.
      await this.release(store, call);
      return;
    }
    try {
      await store.complete(call.userId, call.seed, text);
    } catch (err) {
      // The caller still gets its answer; a re-send would wait, then get `callOutcomeUnknown`.
      this.logger().warn({ ...errorFields(err), userId: call.userId }, 'could not record the outcome of a call');
    }
  }

  private async release(store: CallResultStore, call: RememberedCall): Promise<void> {
    try {
      await store.release(call.userId, call.seed);
    } catch (err) {
      this.logger().warn({ ...errorFields(err), userId: call.userId }, 'could not forget the claim of a refused call');
    }
  }
}
