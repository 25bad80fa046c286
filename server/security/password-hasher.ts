import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { sha256Hex } from './crypto.js';
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
  /** bcrypt hash of a sha-256 hex digest, at the configured cost. */
  hash(digestHex: string): Promise<string>;
  /** Whether `digestHex` matches a bcrypt `hash` ($2a$/$2b$/$2y$). */
  compare(digestHex: string, hash: string): Promise<boolean>;
  /** Jobs waiting for a free worker (not counting those running). */
  queueLength(): number;
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
}

/** The queue is full: too many hash/compare calls at once. Try again later. */
export class PasswordHasherBusyError extends Error {
  override readonly name = 'PasswordHasherBusyError';
  readonly code = 'password-hasher-busy';
}

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
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** Starts a hasher; workers are spawned on first use, up to `size`. */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? 10;
  const size = options.size ?? Math.max(1, os.availableParallelism() - 1);
  const maxQueue = options.maxQueue ?? 1000;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new RangeError(`bcrypt cost must be an integer in [4, 31], got ${cost}`);
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`password hasher size must be an integer >= 1, got ${size}`);
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) {
    throw new RangeError(`password hasher maxQueue must be an integer >= 0, got ${maxQueue}`);
  }

  // Resolved next to this file, so it works from dist/ after compilation.
  const workerUrl = new URL('./password-worker.js', import.meta.url);
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const slot: Slot = { worker: new Worker(workerUrl), job: null };
    slot.worker.on('message', (res: PasswordWorkerResponse) => {
      const job = slot.job;
      slot.job = null;
      if (job) {
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
      slot.job = job;
      const req: PasswordWorkerRequest = { id: nextId++, ...job.request };
      slot.worker.ref(); // keep the process alive while a result is pending
      slot.worker.postMessage(req);
    }
    // Idle workers must not keep a finished process (e.g. a CLI command) running.
    for (const s of slots) if (s.job === null) s.worker.unref();
  }

  function submit(request: JobRequest): Promise<string | boolean> {
    if (closed) return Promise.reject(new Error('password hasher is closed'));
    if (queue.length >= maxQueue && !slots.some((s) => s.job === null) && slots.length >= size) {
      return Promise.reject(new PasswordHasherBusyError(`password hasher queue is full (${maxQueue} waiting)`));
    }
    return new Promise((resolve, reject) => {
      queue.push({ request, resolve, reject });
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
    async hash(digestHex: string): Promise<string> {
      return (await submit({ op: 'hash', digest: checkDigest(digestHex), cost })) as string;
    },
    async compare(digestHex: string, hash: string): Promise<boolean> {
      const digest = checkDigest(digestHex);
      if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
        throw new TypeError('stored password hash is not a bcrypt hash ($2a$/$2b$/$2y$)');
      }
      return (await submit({ op: 'compare', digest, hash })) as boolean;
    },
    queueLength(): number {
      return queue.length;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('password hasher is closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
