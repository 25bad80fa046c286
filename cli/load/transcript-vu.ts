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
import type { TotpCodes } from '../script/totp-codes.js';
import type { Recorder } from './stats.js';
import { sleep, type TotpPacer } from './totp-pacer.js';
import type { LoadUser } from './users.js';

/** A step with what can be prepared once for every iteration. */
interface PreparedStep {
  step: Step;
  /** Send: the frame when it has no placeholder. */
  text?: string;
  /** Expect: the matcher when the pattern reads no variable. */
  matcher?: Matcher;
}

/** Prepares the steps once: placeholder-free frames and patterns are built a single time. */
export function prepareSteps(steps: readonly Step[]): PreparedStep[] {
  const noCtx: ExpandContext = { lookup: () => undefined, totp: () => '' };
  return steps.map((step) => {
    if (step.kind === 'send' && !hasPlaceholders(step.message, false)) return { step, text: JSON.stringify(step.message) };
    if (step.kind === 'expect' && !hasPlaceholders(step.pattern, true)) return { step, matcher: compilePattern(step.pattern, noCtx) };
    return { step };
  });
}

function hasPlaceholders(value: unknown, allowCaptures: boolean): boolean {
  let found = false;
  forEachString(value, (text) => {
    if (parseTemplate(text).some((s) => s.kind === 'var' || s.kind === 'totp' || (!allowCaptures && s.kind === 'capture'))) found = true;
  });
  return found;
}

/** What every transcript virtual user shares. */
export interface TranscriptVuShared {
  url: string;
  steps: readonly PreparedStep[];
  /** Variables from `--var`. */
  variables: ReadonlyMap<string, unknown>;
  timeoutMs: number;
  recorder: Recorder;
  /** Codes for `{{totp:...}}` in the transcript. */
  totpCodes: TotpCodes;
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
    const ctx: ExpandContext = { lookup: (name) => variables.get(name), totp: (secret) => shared.totpCodes.next(secret) };
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
        else if (step.kind === 'send') session.send(prepared.text ?? JSON.stringify(expandValue(step.message, ctx)));
        else {
          const matcher = prepared.matcher ?? compilePattern(step.pattern, ctx);
          let captures: Map<string, unknown> | null = null;
          const message = await session.take((m) => (captures = tryMatch(matcher, m)) !== null, shared.timeoutMs);
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
  readonly #backlog: unknown[] = [];
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
      ws.on('close', () => {
        this.closed = true;
        this.#waiter?.(undefined);
      });
      ws.on('message', (data) => this.#receive(String(data)));
    });
  }

  send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    // Only frames that can be timed need parsing; most are small.
    const msg = JSON.parse(text) as Record<string, unknown>;
    const now = performance.now();
    if (msg.msg === 'connect') this.#connectPending = true;
    else if (msg.msg === 'method' && typeof msg.id === 'string' && typeof msg.method === 'string') {
      const isLogin = msg.method === 'login';
      this.#calls.set(msg.id, { name: msg.method, kind: isLogin ? 'login' : 'method', t0: now - this.lateMs, message: msg, retried: false });
    } else if (msg.msg === 'sub' && typeof msg.id === 'string' && typeof msg.name === 'string') this.#subs.set(msg.id, { name: msg.name, t0: now - this.lateMs });
    this.ws.send(text);
  }

  /** The oldest backlog message `accept` takes, else the first new one; undefined on timeout or close. */
  take(accept: (m: unknown) => boolean, timeoutMs: number): Promise<unknown> {
    const index = this.#backlog.findIndex(accept);
    if (index >= 0) return Promise.resolve(this.#backlog.splice(index, 1)[0]);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const stop = this.shared.stop;
      const done = (m: unknown): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
        resolve(m);
      };
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(onAbort, timeoutMs);
      stop.addEventListener('abort', onAbort, { once: true });
      this.#waiter = (m) => {
        if (m === undefined) {
          done(undefined);
          return true;
        }
        if (!accept(m)) return false;
        done(m);
        return true;
      };
    });
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
        if ((code === 'totp-required' || code === 'totp-invalid') && !call.retried && this.vu.totpSecret !== undefined) {
          call.retried = true;
          void this.#answerTotp(call, this.vu.totpSecret);
          return; // The expectation sees the answer to the retry.
        }
        this.#calls.delete(m.id as string);
        recorder.record(call.kind, call.name, now - call.t0, code);
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
    if (this.#waiter?.(m)) return;
    this.#backlog.push(m);
    if (this.#backlog.length > MAX_BACKLOG) this.#backlog.shift();
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
