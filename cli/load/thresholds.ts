/**
 * Thresholds of `ddp-guard load`: `--threshold 'p99<50ms'`, `--threshold 'errors<0.1%'`,
 * `--threshold 'rooms.delete:p95<=200ms'`, `--threshold 'calls/s>=500'`. The exit status says
 * whether every one held, so a load test can gate a CI job.
 *
 * Grammar: `[NAME:]METRIC OP VALUE`. NAME is a method or subscription name, or `connect` or
 * `login` (the part before the last `:`; method names may contain `:` themselves). METRIC is a
 * percentile (`p50`, `p90`, `p99.9`...), `max` or `mean` with a duration (`ms`, `s`, `us`;
 * a bare number is ms), `errors` with a percentage (`0.1%`) or a count, or `calls/s`
 * (overall only). OP is `<`, `<=`, `>` or `>=`.
 * @module
 */

/** One parsed threshold. */
export interface Threshold {
  /** As written on the command line. */
  source: string;
  /** The method, subscription, `connect` or `login`; undefined: all method calls. */
  name: string | undefined;
  metric: ThresholdMetric;
  op: '<' | '<=' | '>' | '>=';
  /** ms for durations, a fraction (0.001) for an error rate, a count, or calls per second. */
  limit: number;
}

/** What a threshold measures. */
export type ThresholdMetric =
  | { kind: 'percentile'; p: number }
  | { kind: 'max' }
  | { kind: 'mean' }
  | { kind: 'error-rate' }
  | { kind: 'error-count' }
  | { kind: 'rate' };

/** A threshold that does not parse; the message says what was expected. */
export class ThresholdSyntaxError extends Error {
  override name = 'ThresholdSyntaxError';
}

const SHAPE = /^(?:(.+):)?\s*([a-z][a-z0-9./]*)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*([a-z%]*)\s*$/i;

/** Parses one `--threshold`. @throws ThresholdSyntaxError */
export function parseThreshold(source: string): Threshold {
  const m = SHAPE.exec(source.trim());
  const expected = `expected [NAME:]METRIC OP VALUE, as in 'p99<50ms', 'errors<0.1%', 'login:p95<=300ms' or 'calls/s>=100'`;
  if (!m) throw new ThresholdSyntaxError(`the threshold '${source}' does not parse: ${expected}`);
  const [, rawName, metricText, op, numberText, unit] = m as unknown as [string, string | undefined, string, Threshold['op'], string, string];
  const name = rawName?.trim() || undefined;
  const value = Number(numberText);
  const metric = parseMetric(metricText.toLowerCase());
  if (!metric) throw new ThresholdSyntaxError(`the threshold '${source}' has an unknown metric '${metricText}': use p50, p90, p99, p99.9, max, mean, errors or calls/s`);
  if (metric.kind === 'rate' && name !== undefined) throw new ThresholdSyntaxError(`the threshold '${source}': calls/s is measured over all calls, without a name`);
  if (metric.kind === 'error-rate') {
    if (unit === '%') return { source, name, metric, op, limit: value / 100 };
    if (unit === '') return { source, name, metric: { kind: 'error-count' }, op, limit: value };
    throw new ThresholdSyntaxError(`the threshold '${source}': errors take a percentage ('0.1%') or a count ('5'), not '${unit}'`);
  }
  if (metric.kind === 'rate') {
    if (unit !== '') throw new ThresholdSyntaxError(`the threshold '${source}': calls/s takes a plain number`);
    return { source, name, metric, op, limit: value };
  }
  const scale = DURATION_UNITS[unit.toLowerCase()];
  if (scale === undefined) throw new ThresholdSyntaxError(`the threshold '${source}': a duration takes ms, s or us, not '${unit}'`);
  return { source, name, metric, op, limit: value * scale };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { '': 1, ms: 1, s: 1000, us: 0.001, µs: 0.001 };

function parseMetric(text: string): ThresholdMetric | undefined {
  if (text === 'max') return { kind: 'max' };
  if (text === 'mean' || text === 'avg') return { kind: 'mean' };
  if (text === 'errors' || text === 'error') return { kind: 'error-rate' };
  if (text === 'calls/s' || text === 'rate') return { kind: 'rate' };
  const p = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(text);
  if (p && Number(p[1]) > 0 && Number(p[1]) <= 100) return { kind: 'percentile', p: Number(p[1]) };
  return undefined;
}

/** Whether `actual` satisfies `threshold`. */
export function holds(threshold: Threshold, actual: number): boolean {
  switch (threshold.op) {
    case '<':
      return actual < threshold.limit;
    case '<=':
      return actual <= threshold.limit;
    case '>':
      return actual > threshold.limit;
    case '>=':
      return actual >= threshold.limit;
  }
}

/** The limit as written back for a report: `50 ms`, `0.1%`, `100 calls/s`. */
export function formatLimit(threshold: Threshold): string {
  switch (threshold.metric.kind) {
    case 'error-rate':
      return `${+(threshold.limit * 100).toPrecision(6)}%`;
    case 'error-count':
      return String(threshold.limit);
    case 'rate':
      return `${threshold.limit} calls/s`;
    default:
      return `${+threshold.limit.toPrecision(6)} ms`;
  }
}
