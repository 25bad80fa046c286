/**
 * Worker-thread side of the password hasher: runs bcrypt off the main event loop. One job
 * at a time per worker, so the synchronous bcryptjs calls (fastest in a worker) are fine.
 */
import { parentPort } from 'node:worker_threads';
import { setPriority } from 'node:os';
import bcrypt from 'bcryptjs';

/**
 * Nice value of bcrypt workers. On Linux a thread's nice value is its own, so this lowers only
 * this worker: when logins and method calls compete for a core, the event loop wakes first and
 * plain calls keep their latency. Not the lowest priority: at 19 a saturated event loop starved
 * logins completely; at 5 the worker still gets about a quarter of a contended core.
 */
const WORKER_NICE = 5;

/** Lower this worker's priority; where the OS refuses, bcrypt runs at normal priority. */
function lowerPriority(): void {
  try {
    setPriority(0, WORKER_NICE);
  } catch {
    // not permitted here: keep the default priority
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
if (parentPort) lowerPriority();
parentPort?.on('message', (req: PasswordWorkerRequest) => {
  parentPort?.postMessage(run(req));
});
