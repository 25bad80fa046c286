/**
 * A virtual user that runs a `ddp-guard script` transcript: one iteration is the whole
 * transcript on a fresh connection (connect and login included, as a real session). Sends and
 * expectations work as in `script`; on top, every `method` sent is timed to its `result`, every
 * `sub` to its `ready` (or `nosub`), `connect` to `connected`, and a result `totp-required`
 * for a user with a TOTP secret is answered at once by sending the call again with a computed
 * code (a `login` wrapped in `{totp:{login, code}}`, any other method with
 * `{twoFactorCode, twoFactorMethod:'totp'}` appended): the expectation then sees the final
 * result and the latency covers both round trips.
 *
 * Times are counted from when the iteration should have started (open model), so an iteration
 * that waited for a free virtual user carries that wait in every figure it records.
 * @module
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { Step } from '../script/parser.js';
import { compilePattern, tryMatch, type Matcher } from '../script/pattern.js';
import { expandString, expandValue, forEachString, parseTemplate, type ExpandContext } from '../script/template.js';
import type { Recorder } from './stats.js';
import { sleep, TotpWait, type TotpPacer } from './totp-pacer.js';
import type { LoadUser } from './users.js';

/** A step with what can be prepared once for every iteration. */
interface PreparedStep {
  step: Step;
  /** Send: the frame when it has no placeholder. */
  text?: string;
  /** Expect: the matcher when the pattern reads no variable. */
  matcher?: Matcher;
  /** Expect: the `msg` a matching message must have, when the pattern says it literally (the backlog is searched by it). */
  msgKind?: string;
}

/** Prepares the steps once: placeholder-free frames and patterns are built a single time. */
export function prepareSteps(steps: readonly Step[]): PreparedStep[] {
  const noCtx: ExpandContext = { lookup: () => undefined, totp: () => '' };
  return steps.map((step): PreparedStep => {
    if (step.kind === 'send' && !hasPlaceholders(step.message, false)) return { step, text: JSON.stringify(step.message) };
    if (step.kind !== 'expect') return { step };
    const msg = typeof step.pattern === 'object' && step.pattern !== null ? (step.pattern as Record<string, unknown>).msg : undefined;
    const msgKind = typeof msg === 'string' && /^[a-z_]+$/i.test(msg) ? msg : undefined;
    const matcher = hasPlaceholders(step.pattern, true) ? undefined : compilePattern(step.pattern, noCtx);
    return { step, ...(matcher ? { matcher } : {}), ...(msgKind ? { msgKind } : {}) };
  });
}

function hasPlaceholders(value: unknown, allowCaptures: boolean): boolean {
  let found = false;
  forEachString(value, (text) => {
    if (parseTemplate(text).some((s) => s.kind === 'var' || s.kind === 'totp' || (!allowCaptures && s.kind === 'capture'))) found = true;
  });
  return found;
}

/**
 * Ids of calls whose answer the transcript expects to be an error (`< {"msg":"result","id":"1",
 * "error":…}`): a transcript that answers 2FA itself, as a recorded one does, gets its
 * `totp-required` as recorded instead of an automatic retry.
 */
export function idsExpectingErrors(steps: readonly Step[]): Set<string> {
  const ids = new Set<string>();
  for (const step of steps) {
    if (step.kind !== 'expect' || typeof step.pattern !== 'object' || step.pattern === null) continue;
    const p = step.pattern as Record<string, unknown>;
    if (p.msg === 'result' && typeof p.id === 'string' && 'error' in p) ids.add(p.id);
  }
  return ids;
}

/**
 * The `msg` kinds worth keeping in the backlog: those the expectations name, when every one
 * names its kind; undefined (keep everything) otherwise. `updated` and data messages that no
 * step expects are then dropped as they arrive instead of piling up.
 */
export function keptKinds(steps: readonly PreparedStep[]): Set<string> | undefined {
  const kinds = new Set<string>();
  for (const p of steps) {
    if (p.step.kind !== 'expect') continue;
    if (p.msgKind === undefined) return undefined;
    kinds.add(p.msgKind);
  }
  return kinds;
}

/** What every transcript virtual user shares. */
export interface TranscriptVuShared {
  url: string;
  steps: readonly PreparedStep[];
  /** See {@link idsExpectingErrors}. */
  expectErrors: ReadonlySet<string>;
  /** See {@link keptKinds}. */
  keptKinds: ReadonlySet<string> | undefined;
  /** Variables from `--var`. */
  variables: ReadonlyMap<string, unknown>;
  timeoutMs: number;
  recorder: Recorder;
  /** Codes for answering `totp-required`. */
  pacer: TotpPacer;
  /** Aborted when the run stops: sleeps and waits end at once. */
  stop: AbortSignal;
}

interface PendingCall {
  name: string;
  kind: 'method' | 'login';
  t0: number;
  message: Record<string, unknown>;
  retried: boolean;
}

const MAX_BACKLOG = 1000;

/** One virtual user: its account, its variables, its source address. */
export class TranscriptVu {
  constructor(
    private readonly shared: TranscriptVuShared,
    private readonly userVars: ReadonlyMap<string, unknown>,
    private readonly user: LoadUser | undefined,
    private readonly localAddress: string | undefined,
  ) {}

  #ws: WebSocket | undefined;

  /** Runs the transcript once; `lateMs`: how long after its intended start it began. */
  async iterate(lateMs: number): Promise<void> {
    const { shared } = this;
    const t0 = performance.now() - lateMs;
    const variables = new Map<string, unknown>([...shared.variables, ...this.userVars]);
    // `{{totp:…}}` takes codes from the same pacer as the automatic answers: a user's code is
    // never one the server already took, and when both usable steps are spent the send waits.
    const ctx: ExpandContext = {
      lookup: (name) => variables.get(name),
      totp: (secret) => {
        const got = shared.pacer.tryNow(secret);
        if (typeof got === 'string') return got;
        throw new TotpWait(got.waitMs);
      },
    };
    const session = new Session(this, shared, t0, lateMs);
    try {
      await session.open(this.localAddress);
    } catch {
      shared.recorder.record('connect', 'connect', performance.now() - t0, 'connect-failed');
      session.close();
      return;
    }
    this.#ws = session.ws;
    try {
      for (const prepared of shared.steps) {
        if (shared.stop.aborted || session.closed) break;
        const { step } = prepared;
        if (step.kind === 'set') variables.set(step.name, expandString(step.value, ctx));
        else if (step.kind === 'sleep') await sleep(step.ms, shared.stop);
        else if (step.kind === 'send') {
          let message: unknown = step.message;
          while (prepared.text === undefined) {
            try {
              message = expandValue(step.message, ctx);
              break;
            } catch (err) {
              if (!(err instanceof TotpWait)) throw err;
              await sleep(err.waitMs, shared.stop);
              if (shared.stop.aborted) return;
            }
          }
          session.send(prepared.text ?? JSON.stringify(message), message);
        }
        else {
          const matcher = prepared.matcher ?? compilePattern(step.pattern, ctx);
          let captures: Map<string, unknown> | null = null;
          const message = await session.take((m) => (captures = tryMatch(matcher, m)) !== null, shared.timeoutMs, prepared.msgKind);
          if (shared.stop.aborted) break;
          if (message === undefined || captures === null) {
            shared.recorder.error(session.closed ? 'connection-closed' : `expect-timeout (line ${step.line})`);
            break;
          }
          for (const [name, value] of captures as Map<string, unknown>) variables.set(name, value);
        }
      }
    } catch (err) {
      shared.recorder.error(`transcript-error: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      session.close();
      this.#ws = undefined;
    }
  }

  /** Ends the current iteration's connection. */
  close(): void {
    this.#ws?.terminate();
  }

  /** The secret to answer `totp-required` with, if the user has one. */
  get totpSecret(): string | undefined {
    return this.user?.totpSecret;
  }
}

/** One connection of one iteration: timing of calls, subscriptions and the handshake. */
class Session {
  ws!: WebSocket;
  closed = false;
  /**
   * Messages no expectation took yet, by their `msg` (`''` for others), each with its arrival
   * number: an expectation of a `result` then never scans the `updated` and `added` messages
   * piling up beside it, which made a long transcript quadratic.
   */
  readonly #backlog = new Map<string, { seq: number; m: unknown }[]>();
  #seq = 0;
  #waiter: ((m: unknown) => boolean) | undefined;
  readonly #calls = new Map<string, PendingCall>();
  readonly #subs = new Map<string, { name: string; t0: number }>();
  #connectPending = false;

  constructor(
    private readonly vu: TranscriptVu,
    private readonly shared: TranscriptVuShared,
    private readonly t0: number,
    private readonly lateMs: number,
  ) {}

  open(localAddress: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.shared.url, { handshakeTimeout: this.shared.timeoutMs, perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.on('error', (err) => reject(err));
      const onStop = (): void => void this.#waiter?.(undefined);
      this.shared.stop.addEventListener('abort', onStop, { once: true });
      ws.on('close', () => {
        this.closed = true;
        this.shared.stop.removeEventListener('abort', onStop);
        if (this.#timer) clearTimeout(this.#timer);
        this.#waiter?.(undefined);
      });
      ws.on('message', (data) => this.#receive(String(data)));
    });
  }

  send(text: string, message: unknown): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const msg = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
    const now = performance.now();
    if (msg.msg === 'connect') this.#connectPending = true;
    else if (msg.msg === 'method' && typeof msg.id === 'string' && typeof msg.method === 'string') {
      const isLogin = msg.method === 'login';
      this.#calls.set(msg.id, { name: msg.method, kind: isLogin ? 'login' : 'method', t0: now - this.lateMs, message: msg, retried: false });
    } else if (msg.msg === 'sub' && typeof msg.id === 'string' && typeof msg.name === 'string') this.#subs.set(msg.id, { name: msg.name, t0: now - this.lateMs });
    this.ws.send(text);
  }

  /** The oldest backlog message `accept` takes, else the first new one; undefined on timeout or close. */
  take(accept: (m: unknown) => boolean, timeoutMs: number, msgKind?: string): Promise<unknown> {
    const found = this.#fromBacklog(accept, msgKind);
    if (found !== undefined) return Promise.resolve(found);
    if (this.closed) return Promise.resolve(undefined);
    if (this.shared.stop.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      // One timer per session, re-armed per expectation, and one stop listener per session
      // (see open()): a long transcript runs thousands of expectations a second.
      this.#deadline = performance.now() + timeoutMs;
      this.#waiterKind = msgKind;
      if (!this.#timer) this.#timer = setTimeout(() => this.#onTimer(), timeoutMs);
      this.#waiter = (m) => {
        if (m !== undefined && !accept(m)) return false;
        this.#waiter = undefined;
        this.#deadline = Infinity;
        resolve(m);
        return true;
      };
    });
  }

  #deadline = Infinity;
  /** The `msg` the waiting expectation needs, when it names one: other messages skip the match. */
  #waiterKind: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** The timer fired: the expectation waiting now is late, or a later one is waiting and it runs again. */
  #onTimer(): void {
    this.#timer = undefined;
    if (!this.#waiter || this.closed) return;
    const left = this.#deadline - performance.now();
    if (left <= 0) this.#waiter(undefined);
    else this.#timer = setTimeout(() => this.#onTimer(), left);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else this.ws.terminate();
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  #receive(text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#deliver(text);
      return;
    }
    const now = performance.now();
    const { recorder } = this.shared;
    switch (m.msg) {
      case 'ping':
        this.ws.send(m.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: m.id }));
        break;
      case 'connected':
      case 'failed':
        if (this.#connectPending) {
          this.#connectPending = false;
          recorder.record('connect', 'connect', now - this.t0, m.msg === 'failed' ? 'version-mismatch' : undefined);
        }
        break;
      case 'result': {
        const call = typeof m.id === 'string' ? this.#calls.get(m.id) : undefined;
        if (!call) break;
        const code = errorCode(m.error);
        const answerable = (code === 'totp-required' || code === 'totp-invalid') && !this.shared.expectErrors.has(m.id as string);
        if (answerable && !call.retried && this.vu.totpSecret !== undefined) {
          call.retried = true;
          void this.#answerTotp(call, this.vu.totpSecret);
          return; // The expectation sees the answer to the retry.
        }
        this.#calls.delete(m.id as string);
        // An error the transcript expects (a recorded 2FA challenge) is an answer, not a failure.
        recorder.record(call.kind, call.name, now - call.t0, this.shared.expectErrors.has(m.id as string) ? undefined : code);
        break;
      }
      case 'ready':
        if (Array.isArray(m.subs)) {
          for (const id of m.subs) {
            const sub = typeof id === 'string' ? this.#subs.get(id) : undefined;
            if (!sub) continue;
            this.#subs.delete(id as string);
            recorder.record('sub', sub.name, now - sub.t0);
          }
        }
        break;
      case 'nosub': {
        const sub = typeof m.id === 'string' ? this.#subs.get(m.id) : undefined;
        if (sub) {
          this.#subs.delete(m.id as string);
          recorder.record('sub', sub.name, now - sub.t0, errorCode(m.error) ?? 'nosub');
        }
        break;
      }
    }
    this.#deliver(m);
  }

  #deliver(m: unknown): void {
    const kind = typeof m === 'object' && m !== null && typeof (m as { msg?: unknown }).msg === 'string' ? (m as { msg: string }).msg : '';
    const kept = this.shared.keptKinds;
    if (kept !== undefined && !kept.has(kind)) return;
    if ((this.#waiterKind === undefined || this.#waiterKind === kind) && this.#waiter?.(m)) return;
    let bucket = this.#backlog.get(kind);
    if (!bucket) this.#backlog.set(kind, (bucket = []));
    bucket.push({ seq: this.#seq++, m });
    if (bucket.length > MAX_BACKLOG) bucket.shift();
  }

  /** The oldest backlog message `accept` takes (only among `msgKind` when given), removed; else undefined. */
  #fromBacklog(accept: (m: unknown) => boolean, msgKind: string | undefined): unknown {
    let best: { bucket: { seq: number; m: unknown }[]; index: number } | undefined;
    const buckets = msgKind === undefined ? [...this.#backlog.values()] : [this.#backlog.get(msgKind) ?? []];
    for (const bucket of buckets) {
      const index = bucket.findIndex((entry) => accept(entry.m));
      if (index >= 0 && (!best || bucket[index]!.seq < best.bucket[best.index]!.seq)) best = { bucket, index };
    }
    if (!best) return undefined;
    const found = best.bucket[best.index]!.m;
    // Re-run accept on the winner: with several buckets the captures belong to the last tried.
    accept(found);
    best.bucket.splice(best.index, 1);
    return found;
  }

  async #answerTotp(call: PendingCall, secret: string): Promise<void> {
    try {
      const { code, waitedMs } = await this.shared.pacer.next(secret, this.shared.stop);
      call.t0 += waitedMs; // Waiting for the next TOTP step is ours, not the server's.
      const params = Array.isArray(call.message.params) ? [...(call.message.params as unknown[])] : [];
      const message = { ...call.message };
      if (call.name === 'login') message.params = [{ totp: { login: params[0], code } }];
      else message.params = [...params, { twoFactorCode: code, twoFactorMethod: 'totp' }];
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    } catch {
      // Stopped while waiting for a step: the iteration ends without a figure.
    }
  }
}

/** The code of a DDP error (`error` field), as text; undefined when there is no error. */
export function errorCode(error: unknown): string | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object' && 'error' in error) return String((error as { error: unknown }).error);
  return 'error';
}
