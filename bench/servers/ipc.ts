/**
 * The bench's messages to a server process, the same for the baseline and ddp-guard: `gc`
 * runs the most thorough garbage collection V8 has ("last resort": it also gives free pages
 * back to the OS), so that RSS read right after counts what is held, not what was freed but
 * still mapped. `stats-start` starts counting V8's GC pauses (and, as `stats-start-delay`, also
 * the event loop's delay: a timer every 10 ms, itself a load, so only when asked); `stats`
 * answers what was measured since ({@link LoopStats}), so a bench can tell a server's own
 * stalls from waiting for a core.
 */
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay (ms, timer every 10 ms; zeros unless asked) and GC pauses (ms) of one process over a window. */
export interface LoopStats {
  type: 'stats';
  delay: { p50: number; p99: number; max: number; mean: number };
  gc: GcCounts & { major: GcCounts; minor: GcCounts };
}
interface GcCounts { count: number; totalMs: number; maxMs: number; over5ms: number }

const DELAY_RESOLUTION_MS = 10;
let histogram: IntervalHistogram | null = null;
let observer: PerformanceObserver | null = null;
const zero = (): GcCounts => ({ count: 0, totalMs: 0, maxMs: 0, over5ms: 0 });
let gc = { ...zero(), major: zero(), minor: zero() };

function count(c: GcCounts, ms: number): void {
  c.count++;
  c.totalMs += ms;
  c.maxMs = Math.max(c.maxMs, ms);
  if (ms > 5) c.over5ms++;
}

function startStats(delay: boolean): void {
  histogram?.disable();
  observer?.disconnect();
  gc = { ...zero(), major: zero(), minor: zero() };
  histogram = delay ? monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS }) : null;
  histogram?.enable();
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      count(gc, e.duration);
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) count(gc.major, e.duration);
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) count(gc.minor, e.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** What was measured since `stats-start` (zeros if it was never sent). */
export function loopStats(): LoopStats {
  const h = histogram;
  // The histogram holds whole intervals between the timer's runs: the delay is what exceeds its period.
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS);
  return {
    type: 'stats',
    delay: h ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) } : { p50: 0, p99: 0, max: 0, mean: 0 },
    gc: { ...gc, major: { ...gc.major }, minor: { ...gc.minor } },
  };
}

export function answerBenchMessages(): void {
  process.on('message', (m) => {
    if (m === 'gc' && global.gc) global.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    else if (m === 'stats-start' || m === 'stats-start-delay') startStats(m === 'stats-start-delay');
    else if (m === 'stats') process.send?.(loopStats());
  });
}
