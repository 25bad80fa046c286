/**
 * The figures of a load run: an HDR histogram (hdr-histogram-js, microseconds, 3 significant
 * digits) per method, per subscription (time to `ready`), for connecting and for logging in;
 * counts and errors by code; and a timeline with one point a second (calls, errors, p50/p99 of
 * the calls completed in that second, virtual users).
 * @module
 */
import * as hdr from 'hdr-histogram-js';

/** What a figure measures. */
export type FigureKind = 'method' | 'sub' | 'connect' | 'login';

/** Percentiles and counts of one figure, in ms. */
export interface FigureSummary {
  kind: FigureKind;
  name: string;
  count: number;
  errors: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One second of the run. */
export interface TimelinePoint {
  /** Seconds since the start. */
  t: number;
  /** Method calls completed in this second (failed ones included). */
  calls: number;
  errors: number;
  /** ms; 0 when no call completed. */
  p50: number;
  p99: number;
  vus: number;
}

const newHistogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });

class Figure {
  readonly histogram = newHistogram();
  count = 0;
  errors = 0;

  constructor(
    readonly kind: FigureKind,
    readonly name: string,
  ) {}
}

/** Collects every measurement of a run. */
export class Recorder {
  /** Figures by kind, then name (two lookups rather than a key string built per measurement). */
  readonly #byKind = new Map<FigureKind, Map<string, Figure>>();
  readonly #figures = new Map<string, Figure>();
  readonly #errorsByCode = new Map<string, number>();
  /** This second's call latencies (µs), sorted once at the tick: cheaper than a second histogram per call. */
  #interval = new Float64Array(4096);
  #intervalCalls = 0;
  #intervalErrors = 0;
  readonly timeline: TimelinePoint[] = [];
  /** Method calls completed, failed ones included. */
  calls = 0;
  /** Failed operations of any kind (calls, subscriptions, connections, logins, expectations). */
  errors = 0;
  /** Operations of any kind. */
  operations = 0;

  /**
   * Records one operation that took `ms` (from its intended start); `errorCode` when it failed.
   * Method calls also go to the per-second figures.
   */
  record(kind: FigureKind, name: string, ms: number, errorCode?: string): void {
    let names = this.#byKind.get(kind);
    if (!names) this.#byKind.set(kind, (names = new Map()));
    let figure = names.get(name);
    if (!figure) {
      figure = new Figure(kind, name);
      names.set(name, figure);
      this.#figures.set(`${kind}\u0000${name}`, figure);
    }
    const us = Math.max(1, Math.round(ms * 1000));
    figure.histogram.recordValue(us);
    figure.count++;
    this.operations++;
    if (kind === 'method') {
      this.calls++;
      if (this.#intervalCalls === this.#interval.length) {
        const grown = new Float64Array(this.#interval.length * 2);
        grown.set(this.#interval);
        this.#interval = grown;
      }
      this.#interval[this.#intervalCalls++] = us;
    }
    if (errorCode !== undefined) {
      figure.errors++;
      if (kind === 'method') this.#intervalErrors++;
      this.error(errorCode, false);
    }
  }

  /** Counts a failure by its code (`timeout`, `closed`, a server's error code...). */
  error(code: string, isOperation = true): void {
    this.errors++;
    if (isOperation) this.operations++;
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
  }

  /** Closes the current second: appends a timeline point. */
  tick(t: number, vus: number): TimelinePoint {
    const n = this.#intervalCalls;
    const has = n > 0;
    const sorted = this.#interval.subarray(0, n).sort();
    // The same rank as HdrHistogram's: the smallest value with at least p% of values at or below it.
    const at = (p: number): number => sorted[Math.max(0, Math.ceil((p / 100) * n) - 1)]!;
    const point: TimelinePoint = {
      t,
      calls: this.#intervalCalls,
      errors: this.#intervalErrors,
      p50: has ? at(50) / 1000 : 0,
      p99: has ? at(99) / 1000 : 0,
      vus,
    };
    this.timeline.push(point);
    this.#intervalCalls = 0;
    this.#intervalErrors = 0;
    return point;
  }

  /** Every figure: connect, login, methods, subscriptions, each sorted by name. */
  figures(): FigureSummary[] {
    const order: FigureKind[] = ['connect', 'login', 'method', 'sub'];
    return [...this.#figures.values()]
      .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.name.localeCompare(b.name))
      .map((f) => summarize(f.kind, f.name, f.histogram, f.count, f.errors));
  }

  /** All method calls together. */
  allCalls(): FigureSummary {
    const all = newHistogram();
    let errors = 0;
    for (const f of this.#figures.values()) {
      if (f.kind !== 'method') continue;
      all.add(f.histogram);
      errors += f.errors;
    }
    return summarize('method', '(all calls)', all, this.calls, errors);
  }

  /** The `p`th percentile (ms) of one figure, or of all method calls when `name` is undefined; null when empty. */
  percentile(kind: FigureKind, name: string | undefined, p: number): number | null {
    let histogram: hdr.Histogram | undefined;
    if (name === undefined) {
      histogram = newHistogram();
      for (const f of this.#figures.values()) if (f.kind === 'method') histogram.add(f.histogram);
    } else histogram = this.#figures.get(`${kind}\u0000${name}`)?.histogram;
    if (!histogram || histogram.totalCount === 0) return null;
    return histogram.getValueAtPercentile(p) / 1000;
  }

  /** Errors by code, most frequent first. */
  errorsByCode(): { code: string; count: number }[] {
    return [...this.#errorsByCode].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }
}

function summarize(kind: FigureKind, name: string, h: hdr.Histogram, count: number, errors: number): FigureSummary {
  // A percentile is the top of its HDR bucket, which can lie a hair above the exact maximum.
  const at = (p: number): number => (count === 0 ? 0 : Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000);
  return {
    kind,
    name,
    count,
    errors,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: count === 0 ? 0 : h.maxValue / 1000,
    mean: count === 0 ? 0 : h.mean / 1000,
  };
}
