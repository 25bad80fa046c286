/**
 * The schedule of a load run. Closed model (`--vus N`): N virtual users each run iteration after
 * iteration, ramped up linearly over `--ramp`. Open model (`--rate R`): iterations arrive at R
 * per second (ramped from 0 over `--ramp`), whatever the server does; each goes to a free
 * virtual user (at most `--vus`), or waits in a queue for one. Every iteration is told how late
 * it started against its intended start, and that lateness is counted in its latencies: a
 * stalled server cannot hide behind coordinated omission.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Recorder, TimelinePoint } from './stats.js';

/** What the driver needs of a virtual user. */
export interface VirtualUser {
  iterate(lateMs: number): Promise<void>;
  close(): void;
}

/** The load model. */
export type LoadModel = { kind: 'closed'; vus: number } | { kind: 'open'; rate: number; maxVus: number };

/** Settings of {@link drive}. */
export interface DriveOptions {
  model: LoadModel;
  durationMs: number;
  rampMs: number;
  /** Makes virtual user number `index` (from 0). */
  makeVu(index: number): VirtualUser;
  recorder: Recorder;
  /** Aborted by the caller to stop early (Ctrl-C); the driver aborts it at the end of the run. */
  stop: AbortController;
  /** How long iterations in progress may finish after the end (ms). */
  graceMs: number;
  /** Called once a second with the second just closed. */
  onTick(point: TimelinePoint): void;
}

/** Arrivals queued beyond this are dropped (and counted as errors). */
const MAX_QUEUE = 100_000;

/** Runs the load until the duration ends or `stop` is aborted; resolves once every virtual user is closed. */
export async function drive(options: DriveOptions): Promise<{ elapsedMs: number; vusCreated: number }> {
  const { model, recorder, stop } = options;
  const start = performance.now();
  const vus: VirtualUser[] = [];
  const running = new Set<Promise<void>>();
  let active = 0;

  const elapsed = (): number => performance.now() - start;
  const ticker = setInterval(() => options.onTick(recorder.tick(Math.round(elapsed() / 1000), active)), 1000);
  const ender = setTimeout(() => stop.abort(), options.durationMs);
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));

  const track = (p: Promise<void>): void => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  if (model.kind === 'closed') {
    const loop = async (vu: VirtualUser): Promise<void> => {
      active++;
      try {
        while (!stop.signal.aborted) await vu.iterate(0);
      } finally {
        active--;
      }
    };
    const rampStep = (): void => {
      const target = options.rampMs > 0 ? Math.min(model.vus, Math.ceil((model.vus * elapsed()) / options.rampMs)) : model.vus;
      while (vus.length < target && !stop.signal.aborted) {
        const vu = options.makeVu(vus.length);
        vus.push(vu);
        track(loop(vu));
      }
    };
    rampStep();
    const rampTimer = setInterval(rampStep, 50);
    await stopped;
    clearInterval(rampTimer);
  } else {
    const free: VirtualUser[] = [];
    const queue: number[] = [];
    let arrived = 0;
    const runOn = (vu: VirtualUser, intendedAt: number): void => {
      active++;
      track(
        vu.iterate(Math.max(0, performance.now() - intendedAt)).finally(() => {
          active--;
          const next = queue.shift();
          if (next !== undefined && !stop.signal.aborted) runOn(vu, next);
          else free.push(vu);
        }),
      );
    };
    const schedule = (): void => {
      const due = arrivalsBy(elapsed(), model.rate, options.rampMs);
      for (; arrived < due && !stop.signal.aborted; arrived++) {
        const intendedAt = start + arrivalTime(arrived + 1, model.rate, options.rampMs);
        let vu = free.pop();
        if (!vu && vus.length < model.maxVus) {
          vu = options.makeVu(vus.length);
          vus.push(vu);
        }
        if (vu) runOn(vu, intendedAt);
        else if (queue.length < MAX_QUEUE) queue.push(intendedAt);
        else recorder.error('dropped-arrival');
      }
    };
    const timer = setInterval(schedule, 5);
    await stopped;
    clearInterval(timer);
    // Arrivals still queued never started: they count as failed.
    for (let i = 0; i < queue.length; i++) recorder.error('not-started');
    queue.length = 0;
  }
  clearTimeout(ender);
  const endedAt = elapsed();
  // Iterations in progress may finish (their sleeps end at once), then connections close.
  await Promise.race([Promise.allSettled([...running]), new Promise((resolve) => setTimeout(resolve, options.graceMs).unref())]);
  for (const vu of vus) vu.close();
  clearInterval(ticker);
  if (recorder.timeline.length === 0 || endedAt / 1000 - recorder.timeline[recorder.timeline.length - 1]!.t > 0.25) {
    options.onTick(recorder.tick(Math.round((endedAt / 1000) * 10) / 10, active));
  }
  return { elapsedMs: endedAt, vusCreated: vus.length };
}

/** How many arrivals are due `t` ms into the run at `rate`/s, ramped linearly over `rampMs`. */
export function arrivalsBy(t: number, rate: number, rampMs: number): number {
  const perMs = rate / 1000;
  if (rampMs <= 0) return Math.floor(t * perMs);
  if (t <= rampMs) return Math.floor((perMs * t * t) / (2 * rampMs));
  return Math.floor((perMs * rampMs) / 2 + perMs * (t - rampMs));
}

/** When (ms into the run) arrival number `k` (from 1) is due: the inverse of {@link arrivalsBy}. */
export function arrivalTime(k: number, rate: number, rampMs: number): number {
  const perMs = rate / 1000;
  if (rampMs <= 0) return k / perMs;
  const inRamp = (perMs * rampMs) / 2;
  if (k <= inRamp) return Math.sqrt((2 * k * rampMs) / perMs);
  return rampMs + (k - inRamp) / perMs;
}
