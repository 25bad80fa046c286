import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { sha256Hex } from './crypto.js';
import { Admission, PasswordHasherBusyError } from './password-admission.js';
import type { PasswordWorkerRequest, PasswordWorkerResponse } from './password-worker.js';

/**
 * bcrypt hashing of password digests on a pool of worker threads. bcrypt takes tens of
 * milliseconds by design; on the event loop it would stall every connection.
 *
 * Inputs are sha-256 hex digests of passwords (Meteor's scheme: clients send the digest,
 * the server stores bcrypt(digest)), so hashes from a Meteor database verify unchanged.
 *
 * Each worker names its thread `ddp-bcrypt` (password-worker.ts), so the threads can be found
 * in /proc/<pid>/task/ and placed on other cores than the event loop (`taskset -p -c`).
 */
export interface PasswordHasher {
  /**
   * bcrypt hash of a sha-256 hex digest, at the configured cost.
   * @throws PasswordHasherBusyError at once when the queue is past its bounds, or when the job
   *   waited `maxWaitMs` (or until `options.waitUntil`) without getting a worker.
   */
  hash(digestHex: string, options?: JobOptions): Promise<string>;
  /** Whether `digestHex` matches a bcrypt `hash` ($2a$/$2b$/$2y$); refused as {@link hash} is. */
  compare(digestHex: string, hash: string, options?: JobOptions): Promise<boolean>;
  /**
   * A place in the queue for a job to be submitted soon (after reads that decide what to
   * compare): counted as waiting from now, so checks that arrive together cannot all pass
   * admission before any of them is queued. Pass it to {@link compare}; release it if the job
   * is not submitted (release is idempotent).
   * @throws PasswordHasherBusyError when a job submitted now would be refused.
   */
  reserve(): Reservation;
  /** Jobs waiting for a free worker (not counting those running). */
  queueLength(): number;
  /** Workers in the pool (started or not). */
  readonly size: number;
  /** Rejects waiting jobs and terminates the workers. */
  close(): Promise<void>;
}

/** Options for {@link createPasswordHasher}. */
export interface PasswordHasherOptions {
  /** bcrypt cost (log2 rounds), 4 to 31. @default 10 */
  cost?: number;
  /**
   * Worker threads. @default Math.max(1, os.availableParallelism() - 1), counted over the CPUs
   * this process may run on: a process pinned to one core gets one worker, so set the size when
   * the bcrypt threads are to be moved to other cores.
   */
  size?: number;
  /** Jobs allowed to wait; beyond that calls fail fast instead of piling up. @default 1000 */
  maxQueue?: number;
  /**
   * Longest wait for a worker, in ms: a job whose estimated wait is longer is refused at once,
   * and a job still waiting after this long is refused then. `null`: no bound. @default null
   */
  maxWaitMs?: number | null;
}

/** Options of one job. */
export interface JobOptions {
  /** `performance.now()` time after which the job, if still waiting for a worker, is refused. */
  waitUntil?: number;
  /** The place taken by {@link PasswordHasher.reserve}: the job (every job given it) is queued without a new admission check. */
  reservation?: Reservation;
}

/** A place in the queue; see {@link PasswordHasher.reserve}. */
export interface Reservation {
  release(): void;
}

export { PasswordHasherBusyError };

/** Meteor's client-side step: sha-256 hex of the plain password. */
export function passwordDigest(plain: string): string {
  return sha256Hex(plain);
}

const DIGEST = /^[0-9a-fA-F]{64}$/;
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

type JobRequest = { op: 'hash'; digest: string; cost: number } | { op: 'compare'; digest: string; hash: string };

interface Job {
  request: JobRequest;
  resolve(value: string | boolean): void;
  reject(error: Error): void;
  /** Refuses the job if it is still waiting then. */
  expiry: NodeJS.Timeout | null;
  /** Jobs waiting or running ahead of it when it was queued. */
  ahead: number;
  queuedAt: number;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  startedAt: number;
}

/** The pool size a `size` option gives: itself when positive, else one per core but one, at least one. */
export function passwordPoolSize(size?: number): number {
  return size !== undefined && size > 0 ? size : Math.max(1, os.availableParallelism() - 1);
}

/** Starts a hasher; workers are spawned on first use, up to `size`. */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? 10;
  const size = options.size ?? passwordPoolSize();
  const maxQueue = options.maxQueue ?? 1000;
  const maxWaitMs = options.maxWaitMs ?? null;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new RangeError(`bcrypt cost must be an integer in [4, 31], got ${cost}`);
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`password hasher size must be an integer >= 1, got ${size}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`password hasher maxQueue must be an integer >= 0, got ${maxQueue}`);
  }
  if (maxWaitMs !== null && (!Number.isInteger(maxWaitMs) || maxWaitMs < 1)) {
    throw new RangeError(`password hasher maxWaitMs must be null or an integer >= 1, got ${maxWaitMs}`);
  }
  const admission = new Admission({ size, maxQueue, maxWaitMs: maxWaitMs ?? Number.POSITIVE_INFINITY });

  // Resolved next to this file, so it works from dist/ after compilation.
  const workerUrl = new URL('./password-worker.js', import.meta.url);
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const slot: Slot = { worker: new Worker(workerUrl), job: null, startedAt: 0 };
    slot.worker.on('message', (res: PasswordWorkerResponse) => {
      const job = slot.job;
      slot.job = null;
      if (job) {
        admission.recordJob(performance.now() - slot.startedAt);
        if (res.ok) job.resolve(res.value);
        else job.reject(new Error(`bcrypt failed: ${res.message}`));
      }
      pump();
    });
    slot.worker.on('error', (err: Error) => {
      slot.job?.reject(new Error(`password worker failed: ${err.message}`, { cause: err }));
      slot.job = null;
    });
    slot.worker.on('exit', (code) => {
      const reason = closed ? 'password hasher is closed' : `password worker exited unexpectedly (code ${code})`;
      slot.job?.reject(new Error(reason));
      slot.job = null;
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      if (!closed) pump(); // replace the worker if jobs are waiting
    });
    slots.push(slot);
    return slot;
  }

  function pump(): void {
    while (queue.length > 0 && !closed) {
      const slot = slots.find((s) => s.job === null) ?? (slots.length < size ? spawn() : undefined);
      if (!slot) break; // all busy: the job waits for the next result
      const job = queue.shift() as Job;
      if (job.expiry) clearTimeout(job.expiry);
      slot.job = job;
      slot.startedAt = performance.now();
      const req: PasswordWorkerRequest = { id: nextId++, ...job.request };
      slot.worker.ref(); // keep the process alive while a result is pending
      slot.worker.postMessage(req);
    }
    // Idle workers must not keep a finished process (e.g. a CLI command) running.
    for (const s of slots) if (s.job === null) s.worker.unref();
  }

  /** How long the oldest running job has run, ms (0 when none runs). */
  function oldestRunningMs(): number {
    const now = performance.now();
    return slots.reduce((max, s) => (s.job === null ? max : Math.max(max, now - s.startedAt)), 0);
  }

  /** Workers free or not started yet. */
  function idleWorkers(): number {
    return slots.filter((s) => s.job === null).length + (size - slots.length);
  }

  /** Places taken by {@link PasswordHasher.reserve} and not yet used or released. */
  let reserved = 0;
  const reservations = new WeakSet<Reservation>();

  function reserve(): Reservation {
    const refusal = admission.refusal(queue.length + reserved, idleWorkers() - reserved, oldestRunningMs());
    if (refusal) throw refusal;
    reserved++;
    let held = true;
    const reservation: Reservation = {
      release() {
        if (held) reserved--;
        held = false;
      },
    };
    reservations.add(reservation);
    return reservation;
  }

  function submit(request: JobRequest, jobOptions: JobOptions): Promise<string | boolean> {
    if (closed) return Promise.reject(new Error('password hasher is closed'));
    // A check admitted by reserve() has all its jobs admitted; its place is now a queued job.
    const placed = jobOptions.reservation !== undefined && reservations.has(jobOptions.reservation);
    jobOptions.reservation?.release();
    const refusal = placed ? null : admission.refusal(queue.length + reserved, idleWorkers() - reserved, oldestRunningMs());
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const job: Job = { request, resolve, reject, expiry: null, ahead: queue.length + slots.filter((s) => s.job !== null).length, queuedAt: now };
      const until = Math.min(maxWaitMs === null ? Number.POSITIVE_INFINITY : now + maxWaitMs, jobOptions.waitUntil ?? Number.POSITIVE_INFINITY);
      if (Number.isFinite(until)) {
        job.expiry = setTimeout(() => {
          const i = queue.indexOf(job);
          if (i >= 0) queue.splice(i, 1);
          job.reject(admission.expired(job.ahead, performance.now() - job.queuedAt));
        }, Math.max(0, until - now));
        job.expiry.unref();
      }
      queue.push(job);
      pump();
    });
  }

  function checkDigest(digestHex: string): string {
    if (typeof digestHex !== 'string' || !DIGEST.test(digestHex)) {
      throw new TypeError('password hasher expects a sha-256 hex digest (64 hex characters), not a plain password');
    }
    // Meteor clients send lowercase; accept uppercase rather than fail a correct password.
    return digestHex.toLowerCase();
  }

  return {
    size,
    async hash(digestHex: string, jobOptions: JobOptions = {}): Promise<string> {
      return (await submit({ op: 'hash', digest: checkDigest(digestHex), cost }, jobOptions)) as string;
    },
    async compare(digestHex: string, hash: string, jobOptions: JobOptions = {}): Promise<boolean> {
      const digest = checkDigest(digestHex);
      if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
        throw new TypeError('stored password hash is not a bcrypt hash ($2a$/$2b$/$2y$)');
      }
      return (await submit({ op: 'compare', digest, hash }, jobOptions)) as boolean;
    },
    reserve,
    queueLength(): number {
      return queue.length;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const job of queue.splice(0)) {
        if (job.expiry) clearTimeout(job.expiry);
        job.reject(new Error('password hasher is closed'));
      }
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
