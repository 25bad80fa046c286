/**
 * Runs a fuzz campaign against a server: several connections send random and mutated frames in
 * batches; after each batch a marker call makes sure every answer is in, and the answers are
 * compared with the oracle's predictions — the answers sent at once (`error`, `pong`) in frame
 * order, those of the method queue (`result`+`updated`, `ready`, `nosub`) in queue order. A
 * binary or oversized frame, or `disconnect`, is sent alone and must close the socket with its
 * code; the connection is then replaced. Meanwhile a well-behaved client calls a method every
 * `normalEvery` frames and must get the right answer.
 */
import WebSocket from 'ws';
import EJSON from 'ejson';
import { ejsonEquals } from '../../../protocol/ejson.js';
import { DdpClient } from '../../helpers/ddp.js';
import { FrameGenerator, type Frame } from './generate.js';
import { knownResult, predict, type ConnectionModel, type Immediate, type Prediction, type Queued } from './oracle.js';
import { NORMAL_USER } from './app.js';
import { createHash } from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = Record<string, any>;

export interface FuzzOptions {
  url: string;
  seed: number;
  /** Frames to send in all (the handshake's `connect` and the batch markers not counted). */
  frames: number;
  connections: number;
  /** Frames per batch (keep it under `maxMethodsInFlight`). */
  batch: number;
  builtIns: readonly string[];
  maxFrameBytes: number;
  maxSubscriptions: number;
  /** The well-behaved client calls a method every this many frames. */
  normalEvery: number;
  /** Random frames sent before `connect` on each new connection (at most). */
  preHandshake: number;
  /** How long one batch may take to be answered. */
  batchTimeoutMs?: number;
  /** Called about every `progressEveryMs` with the report so far. */
  onProgress?: (report: FuzzReport) => void;
  progressEveryMs?: number;
  /** Stop at the first mismatch (the test) or collect up to 50 (the long run). */
  stopOnMismatch?: boolean;
}

export interface Mismatch {
  connection: number;
  batch: number;
  problem: string;
  frames: string[];
}

export interface FuzzReport {
  seed: number;
  frames: number;
  /** Frames by what the server answered. */
  answers: Record<string, number>;
  connectionsOpened: number;
  normalCalls: number;
  normalMaxLatencyMs: number;
  elapsedMs: number;
  mismatches: Mismatch[];
}

const SYNC_METHOD = 'fuzz.echo';

class FuzzConnection {
  readonly immediate: Msg[] = [];
  readonly queued: Msg[] = [];
  readonly other: Msg[] = [];
  documents = 0;
  closed: { code: number } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const text = String(data);
      let msg: Msg;
      try {
        // Decoded as Meteor's clients do (no depth limit): an `offendingMessage` nested 64 deep
        // sits 65 deep in the error that carries it.
        msg = isBinary ? { msg: '<binary>' } : (EJSON.parse(text) as Msg);
      } catch {
        msg = { msg: '<undecodable>', text };
      }
      switch (msg.msg) {
        case 'error':
        case 'pong':
          this.immediate.push(msg);
          break;
        case 'result':
        case 'updated':
        case 'ready':
        case 'nosub':
          this.queued.push(msg);
          break;
        case 'ping':
          ws.send(msg.id === undefined ? '{"msg":"pong"}' : JSON.stringify({ msg: 'pong', id: msg.id }));
          break;
        case 'added':
        case 'changed':
        case 'removed':
          this.documents++;
          break;
        default:
          if (!(msg.msg === undefined && msg.server_id === '0')) this.other.push(msg);
      }
      this.wake();
    });
    ws.on('close', (code: number) => {
      this.closed = { code };
      this.wake();
    });
    ws.on('error', () => {
      // 'close' follows.
    });
  }

  static open(url: string): Promise<FuzzConnection> {
    const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
    const conn = new FuzzConnection(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(conn));
      ws.once('error', reject);
    });
  }

  send(frame: Frame): void {
    if (frame.kind === 'binary') this.ws.send(frame.bytes, { binary: true });
    else this.ws.send(frame.text);
  }

  /** Resolves when `done()` is true, or rejects after `timeoutMs`. */
  until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve();
        }
      };
      this.waiters.push(check);
      check();
    });
  }

  take(): { immediate: Msg[]; queued: Msg[]; other: Msg[] } {
    return { immediate: this.immediate.splice(0), queued: this.queued.splice(0), other: this.other.splice(0) };
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

function short(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

function show(value: unknown): string {
  try {
    return short(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `<bytes ${v.length}>` : v instanceof Date ? `<date ${v.getTime()}>` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) ?? String(value));
  } catch {
    return String(value);
  }
}

/** A wire error's shape, as Meteor's client checks it. */
function wireErrorProblem(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return 'error is not an object';
  const e = error as Msg;
  if (e.isClientSafe !== true || e.errorType !== 'Meteor.Error') return 'error is not client-safe';
  if (typeof e.error !== 'string' && typeof e.error !== 'number') return 'error.error is neither string nor number';
  const expected = e.reason ? `${String(e.reason)} [${String(e.error)}]` : `[${String(e.error)}]`;
  if (e.message !== expected) return `error.message ${show(e.message)} is not ${show(expected)}`;
  return null;
}

/** Runs the campaign; resolves with the report (mismatches included, never thrown). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { seed: options.seed, frames: 0, answers: {}, connectionsOpened: 0, normalCalls: 0, normalMaxLatencyMs: 0, elapsedMs: 0, mismatches: [] };
  const builtIns = new Set(options.builtIns);
  const count = (key: string, n = 1): void => {
    report.answers[key] = (report.answers[key] ?? 0) + n;
  };
  let stop = false;
  const mismatch = (m: Mismatch): void => {
    if (report.mismatches.length < 50) report.mismatches.push(m);
    if (options.stopOnMismatch) stop = true;
  };
  const batchTimeoutMs = options.batchTimeoutMs ?? 15_000;
  const frameWaiters: { at: number; resolve: () => void }[] = [];
  const sent = (n: number): void => {
    report.frames += n;
    for (let i = frameWaiters.length - 1; i >= 0; i--) {
      if (frameWaiters[i]!.at <= report.frames) frameWaiters.splice(i, 1)[0]!.resolve();
    }
  };

  async function worker(index: number): Promise<void> {
    const gen = new FrameGenerator({ seed: (options.seed + index * 7919) >>> 0, builtIns: options.builtIns, maxFrameBytes: options.maxFrameBytes });
    let conn: FuzzConnection | null = null;
    let model: ConnectionModel = { connected: false, subs: new Set(), maxSubscriptions: options.maxSubscriptions, maxFrameBytes: options.maxFrameBytes };
    let pendingImmediate: Immediate[] = [];
    let pendingFrames: string[] = [];
    let held: { frame: Frame; prediction: Prediction } | null = null;
    let batchNo = 0;
    let syncNo = 0;
    while (!stop && report.frames < options.frames) {
      if (conn === null || conn.closed) {
        conn = await FuzzConnection.open(options.url);
        report.connectionsOpened++;
        model = { connected: false, subs: new Set(), maxSubscriptions: options.maxSubscriptions, maxFrameBytes: options.maxFrameBytes };
        pendingImmediate = [];
        pendingFrames = [];
        // Frames before the handshake: errors only (a `connect` or a closing frame is skipped).
        const before = gen.rng.int(options.preHandshake + 1);
        let n = 0;
        while (n < before) {
          const frame = gen.next();
          if (frame.kind !== 'text') continue;
          const p = predict(model, frame.text);
          if (p.kind !== 'immediate') continue;
          conn.send(frame);
          pendingImmediate.push(p.answer);
          pendingFrames.push(frame.text);
          n++;
        }
        sent(n);
        conn.ws.send('{"msg":"connect","version":"1","support":["1","pre2","pre1"]}');
        const c = conn;
        try {
          await c.until(() => c.other.some((m) => m.msg === 'connected') || c.closed !== null, batchTimeoutMs, 'connected');
        } catch (err) {
          mismatch({ connection: index, batch: batchNo, problem: String(err), frames: pendingFrames.map((f) => short(f)) });
          return;
        }
        const connected = c.other.findIndex((m) => m.msg === 'connected');
        if (connected < 0) {
          mismatch({ connection: index, batch: batchNo, problem: `no connected; closed ${show(c.closed)}; got ${show(c.other)}`, frames: pendingFrames.map((f) => short(f)) });
          return;
        }
        c.other.splice(connected, 1);
        model.connected = true;
      }

      // One batch: frames whose answers the oracle predicts, then a marker call.
      batchNo++;
      const frames: string[] = [...pendingFrames];
      const immediate: Immediate[] = [...pendingImmediate];
      pendingFrames = [];
      pendingImmediate = [];
      const queued: Queued[] = [];
      let closing: { code: number; text: string } | null = null;
      let n = 0;
      while (n < options.batch && report.frames + n < options.frames) {
        const next: { frame: Frame; prediction: Prediction } = held ?? (() => {
          const frame = gen.next();
          return { frame, prediction: frame.kind === 'binary' ? ({ kind: 'close', code: 1003 } as Prediction) : predict(model, frame.text) };
        })();
        held = null;
        const { frame, prediction } = next;
        if (prediction.kind === 'close') {
          if (n > 0) {
            held = next; // sent alone, in the next batch
            break;
          }
          conn.send(frame);
          n++;
          closing = { code: prediction.code, text: frame.kind === 'binary' ? `<binary ${frame.bytes.length} bytes>` : frame.text };
          break;
        }
        if (prediction.kind === 'connect') throw new Error('a connect prediction after the handshake');
        conn.send(frame);
        n++;
        frames.push(frame.kind === 'text' ? frame.text : '<binary>');
        if (prediction.kind === 'immediate') immediate.push(prediction.answer);
        else if (prediction.kind === 'queued') queued.push(prediction.answer);
        else count('no answer (pong or repeated sub id)');
      }
      sent(n);
      const c = conn;
      if (closing) {
        const expected = closing.code;
        try {
          await c.until(() => c.closed !== null, batchTimeoutMs, `close ${expected}`);
        } catch (err) {
          mismatch({ connection: index, batch: batchNo, problem: String(err), frames: [short(closing.text)] });
          c.ws.terminate();
          continue;
        }
        const got = c.take();
        // Only the answers to frames sent before it (on a new connection: before `connect`).
        const problems = compareImmediate(immediate, got.immediate, count);
        if (c.closed!.code !== expected || got.queued.length + got.other.length > 0) problems.push(`expected close ${expected} and nothing else, got close ${c.closed!.code} and ${show(got)}`);
        if (problems.length > 0) mismatch({ connection: index, batch: batchNo, problem: problems.slice(0, 5).join('\n'), frames: [...frames, closing.text].map((f) => short(f)) });
        count(`close ${c.closed!.code}`);
        continue;
      }
      const syncId = `sync-${index}-${++syncNo}`;
      c.ws.send(JSON.stringify({ msg: 'method', method: SYNC_METHOD, params: [syncId], id: syncId }));
      try {
        await c.until(() => c.closed !== null || c.queued.some((m) => m.msg === 'updated' && Array.isArray(m.methods) && m.methods.includes(syncId)), batchTimeoutMs, `the marker call ${syncId}`);
      } catch (err) {
        mismatch({ connection: index, batch: batchNo, problem: `${String(err)}; received so far: ${show({ immediate: c.immediate, queued: c.queued.slice(-6) })}`, frames: frames.map((f) => short(f)) });
        c.ws.terminate();
        continue;
      }
      if (c.closed) {
        mismatch({ connection: index, batch: batchNo, problem: `socket closed unexpectedly with ${c.closed.code}`, frames: frames.map((f) => short(f)) });
        continue;
      }
      const got = c.take();
      const problems = compare(immediate, queued, [...got.queued], got.immediate, syncId, builtIns, count);
      if (got.other.length > 0) problems.push(`unexpected messages ${show(got.other)}`);
      if (problems.length > 0) mismatch({ connection: index, batch: batchNo, problem: problems.slice(0, 5).join('\n'), frames: frames.map((f) => short(f)) });
    }
    if (conn && !conn.closed) {
      conn.ws.close();
      await conn.until(() => conn!.closed !== null, 5000, 'close').catch(() => conn!.ws.terminate());
    }
  }

  async function normalClient(): Promise<void> {
    const client = await DdpClient.connect(options.url);
    try {
      const digest = createHash('sha256').update(NORMAL_USER.password).digest('hex');
      const login = await client.call('login', { user: { username: NORMAL_USER.username }, password: { digest, algorithm: 'sha-256' } });
      if (login.error) throw new Error(`normal client: login failed ${show(login.error)}`);
      const userId = login.result.id as string;
      let at = options.normalEvery;
      let i = 0;
      while (!stop && at <= options.frames) {
        await new Promise<void>((resolve) => {
          if (report.frames >= at || stop) resolve();
          else frameWaiters.push({ at, resolve });
        });
        if (stop) break;
        const a = (i * 7919) % 1000;
        const b = i++;
        const t0 = performance.now();
        const [sum, who] = await Promise.all([client.call('fuzz.add', a, b), client.call('fuzz.whoami')]);
        const latency = performance.now() - t0;
        report.normalCalls += 2;
        report.normalMaxLatencyMs = Math.max(report.normalMaxLatencyMs, latency);
        if (sum.result !== a + b || who.result !== userId) {
          mismatch({ connection: -1, batch: i, problem: `the well-behaved client got fuzz.add(${a}, ${b}) = ${show(sum.result ?? sum.error)}, whoami = ${show(who.result ?? who.error)}`, frames: [] });
        }
        at += options.normalEvery;
      }
    } finally {
      await client.close();
    }
  }

  let progress: NodeJS.Timeout | null = null;
  if (options.onProgress) {
    progress = setInterval(() => {
      report.elapsedMs = Date.now() - started;
      options.onProgress!(report);
    }, options.progressEveryMs ?? 5000);
  }
  try {
    const normal = normalClient().catch((err: unknown) => mismatch({ connection: -1, batch: 0, problem: `the well-behaved client failed: ${String(err)}`, frames: [] }));
    await Promise.all(Array.from({ length: options.connections }, (_, i) => worker(i).catch((err: unknown) => mismatch({ connection: i, batch: -1, problem: `worker crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`, frames: [] }))));
    stop = true;
    for (const w of frameWaiters.splice(0)) w.resolve();
    await normal;
  } finally {
    if (progress) clearInterval(progress);
  }
  report.elapsedMs = Date.now() - started;
  return report;
}

/** Compare the answers sent at once (`error`, `pong`) with the predictions, in frame order. */
function compareImmediate(immediate: Immediate[], gotImmediate: Msg[], count: (key: string) => void): string[] {
  const problems: string[] = [];
  if (gotImmediate.length !== immediate.length) problems.push(`expected ${immediate.length} immediate answers, got ${gotImmediate.length}: expected ${show(immediate.map((i) => (i.msg === 'error' ? i.reason : 'pong')))}, got ${show(gotImmediate.map((m) => m.reason ?? m.msg))}`);
  for (let i = 0; i < Math.min(immediate.length, gotImmediate.length); i++) {
    const want = immediate[i]!;
    const got = gotImmediate[i]!;
    if (want.msg === 'pong') {
      const ok = got.msg === 'pong' && ('id' in want ? got.id === want.id : !('id' in got)) && Object.keys(got).length === ('id' in want ? 2 : 1);
      if (!ok) problems.push(`#${i}: expected pong ${show(want)}, got ${show(got)}`);
      count('pong');
      continue;
    }
    let ok = got.msg === 'error' && got.reason === want.reason;
    if (ok && want.hasOffending) ok = 'offendingMessage' in got && ejsonEquals(got.offendingMessage, want.offending) && Object.keys(got).length === 3;
    if (ok && !want.hasOffending) ok = Object.keys(got).length === 2;
    if (!ok) problems.push(`#${i}: expected error ${show(want)}, got ${show(got)}`);
    count(`error: ${want.reason}`);
  }
  return problems;
}

/** Compare one batch's queued answers (method results, ready, nosub) with the predictions. */
function compare(immediate: Immediate[], queued: Queued[], gotQueued: Msg[], gotImmediate: Msg[], syncId: string, builtIns: ReadonlySet<string>, count: (key: string) => void): string[] {
  const problems = compareImmediate(immediate, gotImmediate, count);
  // The method queue, in order: result+updated, ready, nosub; then the marker.
  let q = 0;
  const expectNext = (pred: (m: Msg) => boolean, what: string): Msg | null => {
    const m = gotQueued[q];
    if (m === undefined || !pred(m)) {
      problems.push(`queue #${q}: expected ${what}, got ${show(m)}`);
      return null;
    }
    q++;
    return m;
  };
  for (const want of [...queued, { msg: 'result' as const, id: syncId, method: SYNC_METHOD, params: [syncId] }]) {
    if (problems.length > 0) break;
    if (want.msg === 'ready') {
      expectNext((m) => m.msg === 'ready' && Array.isArray(m.subs) && m.subs.length === 1 && m.subs[0] === want.id, `ready ${want.id}`);
      count('ready');
      continue;
    }
    if (want.msg === 'nosub') {
      const m = expectNext((m) => m.msg === 'nosub' && m.id === want.id, `nosub ${want.id}`);
      if (m) {
        if (want.error === undefined ? m.error !== undefined : !(m.error && m.error.error === want.error.error && m.error.reason === want.error.reason && wireErrorProblem(m.error) === null)) {
          problems.push(`nosub ${want.id}: expected error ${show(want.error)}, got ${show(m.error)}`);
        }
      }
      count(want.error ? `nosub: ${String(want.error.error)}` : 'nosub');
      continue;
    }
    const result = expectNext((m) => m.msg === 'result' && m.id === want.id, `result ${show(want.id)} of ${show(want.method)}`);
    if (!result) break;
    expectNext((m) => m.msg === 'updated' && Array.isArray(m.methods) && m.methods.length === 1 && m.methods[0] === want.id, `updated [${show(want.id)}]`);
    if (want.id === syncId) break;
    const extraKeys = Object.keys(result).filter((k) => !['msg', 'id', 'result', 'error'].includes(k));
    if (extraKeys.length > 0 || ('result' in result && 'error' in result)) problems.push(`result ${show(want.id)} has keys ${show(Object.keys(result))}`);
    const known = knownResult(want.method, want.params);
    if (result.error !== undefined) {
      const shape = wireErrorProblem(result.error);
      if (shape) problems.push(`result ${show(want.id)} of ${show(want.method)}: ${shape}: ${show(result.error)}`);
    }
    if (known) {
      if ('result' in known) {
        if (result.error !== undefined || !ejsonEquals(result.result, known.result)) problems.push(`${want.method}: expected result ${show(known.result)}, got ${show(result.result ?? result.error)}`);
        count('result: ok');
      } else {
        if (!result.error || result.error.error !== known.error.error || result.error.reason !== known.error.reason) problems.push(`${want.method}: expected error ${show(known.error)}, got ${show(result.error ?? result.result)}`);
        count(`result: ${String(known.error.error)} ${known.error.reason}`);
      }
    } else if (builtIns.has(want.method)) {
      if (result.error && result.error.error === 500) problems.push(`built-in ${show(want.method)} answered 500 to params ${show(want.params)}`);
      count(result.error ? `built-in: ${String(result.error.error)}` : 'built-in: ok');
    } else {
      const reason = `Method '${want.method}' not found`;
      if (!result.error || result.error.error !== 404 || result.error.reason !== reason) problems.push(`unknown method ${show(want.method)}: expected 404 ${show(reason)}, got ${show(result.error ?? result.result)}`);
      count('result: 404 method not found');
    }
  }
  if (problems.length === 0 && q !== gotQueued.length) problems.push(`unexpected queued messages after the marker: ${show(gotQueued.slice(q))}`);
  return problems;
}
