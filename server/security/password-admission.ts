/**
 * Admission control of the password pool: a bcrypt check waits for a worker only when it can
 * start soon enough. Past the queue's bounds (a count and a time) it is refused at once with a
 * time to retry after, instead of queueing without end while the pool falls further behind.
 *
 * The time a new job would wait is estimated from the jobs ahead of it and the pool's measured
 * time per job (a moving average); until a job has been measured only the count bounds it.
 */

/** The pool cannot take a job now: its queue is full, or the job would wait too long. */
export class PasswordHasherBusyError extends Error {
  override readonly name = 'PasswordHasherBusyError';
  readonly code = 'password-hasher-busy';
  /** @param retryAfterMs about when the pool could take a new job (ms, at least 1). */
  constructor(message: string, readonly retryAfterMs: number) {
    super(message);
  }
}

/** Bounds of the queue. */
export interface AdmissionLimits {
  /** Workers. */
  size: number;
  /** Jobs allowed to wait for a worker. */
  maxQueue: number;
  /** Longest wait for a worker, in ms. */
  maxWaitMs: number;
}

/** Weight of the newest job in the moving average of the time per job. */
const SMOOTHING = 0.2;

/**
 * Share of `maxWaitMs` an estimated wait may use. bcrypt's time per job moves with the load of
 * the machine; the headroom keeps most of the estimate's misses under the hard bound, so that
 * refusals come at once rather than when a job's wait runs out.
 */
export const ADMIT_SHARE = 0.5;

/** The pool's time per job and the admission decision made from it. */
export class Admission {
  private perJobMs: number | null = null;

  constructor(readonly limits: AdmissionLimits) {}

  /** Records how long a job kept its worker. */
  recordJob(ms: number): void {
    this.perJobMs = this.perJobMs === null ? ms : this.perJobMs + SMOOTHING * (ms - this.perJobMs);
  }

  /** Average time a job keeps a worker, ms; null before the first job. */
  jobMs(): number | null {
    return this.perJobMs;
  }

  /**
   * Estimated wait of a job that would join `waiting` others with `idle` workers free, ms.
   * `runningMs` is how long the oldest running job has run: when it is past the average, the
   * machine has slowed down (bcrypt's threads run at a lower priority), and it counts as the
   * time per job.
   */
  estimatedWaitMs(waiting: number, idle: number, runningMs = 0): number {
    if (idle > 0 && waiting === 0) return 0;
    // Every worker busy: the new job starts when the jobs ahead of it, spread over the pool, are done.
    return ((waiting + 1) / this.limits.size) * Math.max(this.perJobMs ?? 0, runningMs);
  }

  /** The refusal for a job that would join `waiting` others with `idle` workers free, or null to admit it. */
  refusal(waiting: number, idle: number, runningMs = 0): PasswordHasherBusyError | null {
    const { maxQueue, maxWaitMs } = this.limits;
    if (idle > 0 && waiting === 0) return null;
    const wait = this.estimatedWaitMs(waiting, idle, runningMs);
    const full = waiting >= maxQueue;
    const admitMs = maxWaitMs * ADMIT_SHARE;
    if (!full && wait <= admitMs) return null;
    // Until the queue has drained enough to admit one more.
    const perJob = this.perJobMs ?? 1;
    const overCount = full ? ((waiting - maxQueue + 1) / this.limits.size) * perJob : 0;
    const retryAfterMs = Math.max(1, Math.ceil(Math.max(overCount, wait - admitMs, perJob / this.limits.size)));
    const why = full ? `${waiting} checks waiting, at most ${maxQueue}` : `a wait of about ${Math.round(wait)} ms, at most ${admitMs}`;
    return new PasswordHasherBusyError(`password checks are busy (${why})`, retryAfterMs);
  }

  /**
   * The refusal for a job that waited its longest time without getting a worker, `ahead` jobs
   * having been ahead of it when it was admitted: those took at least `waitedMs` over the pool,
   * so the time per job is raised to match and the next admissions are stricter at once.
   */
  expired(ahead = 0, waitedMs = 0): PasswordHasherBusyError {
    const atLeast = (waitedMs * this.limits.size) / (ahead + 1);
    if (atLeast > (this.perJobMs ?? 0)) this.perJobMs = atLeast;
    const retryAfterMs = Math.max(1, Math.ceil((this.perJobMs ?? 1) / this.limits.size));
    return new PasswordHasherBusyError(`password check waited ${this.limits.maxWaitMs} ms for a worker`, retryAfterMs);
  }
}
