/**
 * Worker-thread side of the password hasher: runs bcrypt off the main event loop. One job
 * at a time per worker, so the synchronous bcryptjs calls (fastest in a worker) are fine.
 */
import { parentPort } from 'node:worker_threads';
import { setPriority } from 'node:os';
import { writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';

/**
 * Nice value of bcrypt workers. On Linux a thread's nice value is its own, so this lowers only
 * this worker: when logins and method calls compete for a core, the event loop wakes first and
 * plain calls keep their latency. Not the lowest priority: at 19 a saturated event loop starved
 * logins completely; at 5 the worker still gets about a quarter of a contended core.
 * Measured with the bench's `logins` scenario (Linux 6.18, 2 cores, 2-3 workers allowed on
 * both, logins saturating them): plain-call p99 stays within 1.3× of an idle server from nice
 * 0 to 10; a lower value gives bcrypt more of the shared cores (nice 0: 15-25% more logins/s
 * than 5) but a longer far tail (p99.9 ~4 ms at nice 0, 1-3 ms at 5, ~1 ms at 10).
 */
export const WORKER_NICE = 5;

/** Lower this worker's priority; where the OS refuses, bcrypt runs at normal priority. */
function lowerPriority(): void {
  try {
    setPriority(0, WORKER_NICE);
  } catch {
    // not permitted here: keep the default priority
  }
}

/**
 * Name of a bcrypt worker's thread, as `ps -L`, `top -H` and /proc/<pid>/task/<tid>/comm show
 * it (at most 15 characters), so an operator or the bench can find these threads and place them
 * on other cores (`taskset -p -c 1-3 <tid>`) than the event loop.
 */
export const WORKER_THREAD_NAME = 'ddp-bcrypt';

/** Name this thread (Linux); elsewhere the thread keeps its default name. */
function nameThread(): void {
  try {
    writeFileSync('/proc/thread-self/comm', WORKER_THREAD_NAME);
  } catch {
    // no /proc (not Linux) or not writable: only the name is lost
  }
}

/** A job sent by the pool. */
export type PasswordWorkerRequest =
  | { id: number; op: 'hash'; digest: string; cost: number }
  | { id: number; op: 'compare'; digest: string; hash: string };

/** The worker's answer to one job. */
export type PasswordWorkerResponse =
  | { id: number; ok: true; value: string | boolean }
  | { id: number; ok: false; message: string };

function run(req: PasswordWorkerRequest): PasswordWorkerResponse {
  try {
    const value =
      req.op === 'hash' ? bcrypt.hashSync(req.digest, req.cost) : bcrypt.compareSync(req.digest, req.hash);
    return { id: req.id, ok: true, value };
  } catch (err) {
    return { id: req.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

// Imported outside a worker (e.g. by a type check or a stray import) this file does nothing.
if (parentPort) {
  nameThread();
  lowerPriority();
}
parentPort?.on('message', (req: PasswordWorkerRequest) => {
  parentPort?.postMessage(run(req));
});
