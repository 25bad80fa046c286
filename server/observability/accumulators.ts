/**
 * Per-call counts kept where counting is cheap, exposed through the prom-client registry.
 *
 * prom-client hashes the label set of every `inc()` and `observe()` (a string built and a map
 * looked up per call, label children included). A method server counts every call, so the
 * counts live here instead, in nested maps keyed by label value — counting a label set seen
 * before allocates nothing — and are handed to prom-client only when `/metrics` is scraped.
 */
import { Counter, type Registry } from 'prom-client';

/** One label set's running count. */
interface Cell {
  count: number;
}

/**
 * A counter by up to three labels. `inc(a, b, c)` counts one for the label values in the
 * order of `labelNames`; scraping reports every label set with its total.
 */
export class TalliedCounter {
  private readonly root = new Map<string, Map<string, Map<string, Cell>>>();

  constructor(registry: Registry, name: string, help: string, private readonly labelNames: readonly [string, string?, string?]) {
    const tally = this;
    new Counter({
      name,
      help,
      labelNames: labelNames.filter((n): n is string => n !== undefined),
      registers: [registry],
      collect() {
        this.reset();
        tally.forEach((labels, count) => this.inc(labels, count));
      },
    });
  }

  /** Count `by` (default 1) for these label values; unused trailing labels are ''. */
  inc(a: string, b = '', c = '', by = 1): void {
    let level1 = this.root.get(a);
    if (!level1) this.root.set(a, (level1 = new Map()));
    let level2 = level1.get(b);
    if (!level2) level1.set(b, (level2 = new Map()));
    let cell = level2.get(c);
    if (!cell) level2.set(c, (cell = { count: 0 }));
    cell.count += by;
  }

  private forEach(visit: (labels: Record<string, string>, count: number) => void): void {
    const [n1, n2, n3] = this.labelNames;
    for (const [a, level1] of this.root) {
      for (const [b, level2] of level1) {
        for (const [c, cell] of level2) {
          const labels: Record<string, string> = { [n1]: a };
          if (n2 !== undefined) labels[n2] = b;
          if (n3 !== undefined) labels[n3] = c;
          visit(labels, cell.count);
        }
      }
    }
  }
}

/** One label value's histogram: counts per bucket (not cumulative), sum and count. */
interface Series {
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A value of the shape prom-client's registry formats. */
interface SampleValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A histogram by one label, registered on a prom-client registry as prom-client's own
 * histograms are (same lines, same label order: `le` first), observed without hashing.
 */
export class LabelledHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** As prom-client's metrics name their labels (the docs check of docs/observability.md reads it). */
  readonly labelNames: readonly string[];
  private readonly series = new Map<string, Series>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly upperBounds: readonly number[],
  ) {
    this.labelNames = [labelName];
    // The registry needs only name, help, type, aggregator, get() and reset() of a metric.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(labelValue: string, value: number): void {
    let s = this.series.get(labelValue);
    if (!s) this.series.set(labelValue, (s = { buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 }));
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        s.buckets[i]! += 1;
        break;
      }
    }
    s.sum += value;
    s.count += 1;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labelValue, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ value: cumulative, labels: { le: this.upperBounds[i]!, [this.labelName]: labelValue }, metricName: bucketName });
      }
      values.push({ value: s.count, labels: { le: '+Inf', [this.labelName]: labelValue }, metricName: bucketName });
      values.push({ value: s.sum, labels: { [this.labelName]: labelValue }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { [this.labelName]: labelValue }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
