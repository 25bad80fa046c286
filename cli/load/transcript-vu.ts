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
 * The steps run as a state machine (cli/load/transcript-run.ts) fed by the socket's message
 * handler; frames the virtual user neither reads nor keeps are dropped unparsed.
 *
 * Times are counted from when the iteration should have started (open model), so an iteration
 * that waited for a free virtual user carries that wait in every figure it records.
 * @module
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { TranscriptRun, type Accept, type RunShared } from './transcript-run.js';
import { droppableKind, errorCode, type FrameInfo } from './transcript-steps.js';
import type { LoadUser } from './users.js';

export { errorCode, idsExpectingErrors, keptKinds, prepareSteps, type PreparedStep } from './transcript-steps.js';

/** What every transcript virtual user shares. */
export interface TranscriptVuShared extends RunShared {
  url: string;
  /** See {@link idsExpectingErrors}. */
  expectErrors: ReadonlySet<string>;
  /** See {@link keptKinds}. */
  keptKinds: ReadonlySet<string> | undefined;
  /** Variables from `--var`. */
  variables: ReadonlyMap<string, unknown>;
}

interface PendingCall {
  name: string;
  kind: 'method' | 'login';
  t0: number;
  message: Record<string, unknown>;
  retried: boolean;
}

const MAX_BACKLOG = 1000;
const TEXT_FRAME = { binary: false } as const;

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
    const session = new Session(this, shared, t0, lateMs);
    try {
      await session.open(this.localAddress);
    } catch {
      shared.recorder.record('connect', 'connect', performance.now() - t0, 'connect-failed');
      session.close();
      return;
    }
    this.#ws = session.ws;
    await new Promise<void>((resolve) => {
      const run = new TranscriptRun(shared, session, variables, () => {
        session.close();
        this.#ws = undefined;
        resolve();
      });
      run.advance();
    });
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
  /** The waiting expectation: its test and what to call with the message (or undefined). */
  #accept: Accept | undefined;
  #done: ((m: unknown) => void) | undefined;
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
      const onStop = (): void => void this.#offer(undefined);
      this.shared.stop.addEventListener('abort', onStop, { once: true });
      ws.on('close', () => {
        this.closed = true;
        this.shared.stop.removeEventListener('abort', onStop);
        if (this.#timer) clearTimeout(this.#timer);
        this.#offer(undefined);
      });
      // What `String(data)` would call, without the generic conversion in front (hot: every frame).
      ws.on('message', (data) => this.#receive(data.toString()));
    });
  }

  /**
   * Sends a text frame given as bytes: `ws` then writes the masked frame as one buffer (one
   * `write`), where a string costs an encoding and a `writev` of header and payload per frame.
   */
  send(bytes: Buffer, frame: FrameInfo): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (frame.kind === 'connect') this.#connectPending = true;
    else if (frame.kind === 'method') {
      this.#calls.set(frame.id, { name: frame.name, kind: frame.login ? 'login' : 'method', t0: performance.now() - this.lateMs, message: frame.message, retried: false });
    } else if (frame.kind === 'sub') this.#subs.set(frame.id, { name: frame.name, t0: performance.now() - this.lateMs });
    this.ws.send(bytes, TEXT_FRAME);
  }

  takeNow(accept: Accept, msgKind: string | undefined): unknown {
    return this.#fromBacklog(accept, msgKind);
  }

  wait(accept: Accept, timeoutMs: number, msgKind: string | undefined, done: (m: unknown) => void): void {
    // One timer per session, re-armed per expectation, and one stop listener per session
    // (see open()): a long transcript runs thousands of expectations a second.
    this.#deadline = performance.now() + timeoutMs;
    this.#waiterKind = msgKind;
    this.#accept = accept;
    this.#done = done;
    if (!this.#timer) this.#timer = setTimeout(this.#onTimer, timeoutMs);
  }

  /** Offers a message (undefined: timeout, close or stop) to the waiting expectation; true when it took it. */
  #offer(m: unknown): boolean {
    const done = this.#done;
    if (done === undefined) return false;
    if (m !== undefined && !this.#accept!(m)) return false;
    this.#done = undefined;
    this.#accept = undefined;
    this.#deadline = Infinity;
    done(m);
    return true;
  }

  #deadline = Infinity;
  /** The `msg` the waiting expectation needs, when it names one: other messages skip the match. */
  #waiterKind: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** The timer fired: the expectation waiting now is late, or a later one is waiting and it runs again. */
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#done || this.closed) return;
    const left = this.#deadline - performance.now();
    if (left <= 0) this.#offer(undefined);
    else this.#timer = setTimeout(this.#onTimer, left);
  };

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else this.ws.terminate();
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  #receive(text: string): void {
    // `updated` and data messages nobody expects are dropped without being parsed.
    if (droppableKind(text, this.shared.keptKinds) !== undefined) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#deliver(text);
      return;
    }
    const { recorder } = this.shared;
    switch (m.msg) {
      case 'ping':
        this.ws.send(m.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: m.id }));
        break;
      case 'connected':
      case 'failed':
        if (this.#connectPending) {
          this.#connectPending = false;
          recorder.record('connect', 'connect', performance.now() - this.t0, m.msg === 'failed' ? 'version-mismatch' : undefined);
        }
        break;
      case 'result': {
        const call = typeof m.id === 'string' ? this.#calls.get(m.id) : undefined;
        if (!call) break;
        const now = performance.now();
        const code = errorCode(m.error);
        const expected = code !== undefined && this.shared.expectErrors.has(m.id as string);
        const answerable = (code === 'totp-required' || code === 'totp-invalid') && !expected;
        if (answerable && !call.retried && this.vu.totpSecret !== undefined) {
          call.retried = true;
          void this.#answerTotp(call, this.vu.totpSecret);
          return; // The expectation sees the answer to the retry.
        }
        this.#calls.delete(m.id as string);
        // An error the transcript expects (a recorded 2FA challenge) is an answer, not a failure.
        recorder.record(call.kind, call.name, now - call.t0, expected ? undefined : code);
        break;
      }
      case 'ready':
        if (Array.isArray(m.subs)) {
          const now = performance.now();
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
          recorder.record('sub', sub.name, performance.now() - sub.t0, errorCode(m.error) ?? 'nosub');
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
    if ((this.#waiterKind === undefined || this.#waiterKind === kind) && this.#offer(m)) return;
    let bucket = this.#backlog.get(kind);
    if (!bucket) this.#backlog.set(kind, (bucket = []));
    bucket.push({ seq: this.#seq++, m });
    if (bucket.length > MAX_BACKLOG) bucket.shift();
  }

  /** The oldest backlog message `accept` takes (only among `msgKind` when given), removed; else undefined. */
  #fromBacklog(accept: Accept, msgKind: string | undefined): unknown {
    if (msgKind !== undefined) {
      // One bucket: its first match is the oldest.
      const bucket = this.#backlog.get(msgKind);
      if (bucket === undefined || bucket.length === 0) return undefined;
      const index = bucket.findIndex((entry) => accept(entry.m));
      return index < 0 ? undefined : bucket.splice(index, 1)[0]!.m;
    }
    let best: { bucket: { seq: number; m: unknown }[]; index: number } | undefined;
    for (const bucket of this.#backlog.values()) {
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
