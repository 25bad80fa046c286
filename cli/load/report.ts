/**
 * The result of a load run as one plain object (written by `--json`, drawn by `--html`), the
 * thresholds checked against it, and the summary printed at the end.
 * @module
 */
import type { FigureSummary, Recorder, TimelinePoint } from './stats.js';
import { formatLimit, holds, type Threshold } from './thresholds.js';

/** One threshold and whether it held. */
export interface ThresholdResult {
  threshold: string;
  /** The measured value, in the threshold's unit (ms, a fraction, a count, calls/s); null when nothing was measured under its name. */
  actual: number | null;
  ok: boolean;
}

/** Everything a run measured: the content of `--json`. */
export interface LoadReport {
  tool: 'ddp-guard load';
  url: string;
  /** The transcript or scenario file. */
  input: string;
  model: { kind: 'closed'; vus: number } | { kind: 'open'; rate: number; maxVus: number };
  startedAt: string;
  durationMs: number;
  /** The run was stopped early (Ctrl-C). */
  interrupted: boolean;
  totals: { calls: number; callsPerSecond: number; operations: number; errors: number; errorRate: number };
  calls: FigureSummary;
  figures: FigureSummary[];
  errorsByCode: { code: string; count: number }[];
  timeline: TimelinePoint[];
  thresholds: ThresholdResult[];
  /** The load generator's own CPU time (user + system) during the run, and calls per CPU-second: how far it is from being the bottleneck. */
  loadGenerator: { cpuMs: number; callsPerCpuSecond: number };
}

/** Builds the report of a finished run, thresholds included. */
export function buildReport(recorder: Recorder, base: Pick<LoadReport, 'url' | 'input' | 'model' | 'startedAt' | 'durationMs' | 'interrupted'>, cpuMs: number, thresholds: readonly Threshold[]): LoadReport {
  const figures = recorder.figures();
  const calls = recorder.allCalls();
  const seconds = Math.max(base.durationMs / 1000, 0.001);
  const totals = {
    calls: recorder.calls,
    callsPerSecond: recorder.calls / seconds,
    operations: recorder.operations,
    errors: recorder.errors,
    errorRate: recorder.operations === 0 ? 0 : recorder.errors / recorder.operations,
  };
  const report: LoadReport = { tool: 'ddp-guard load', ...base, totals, calls, figures, errorsByCode: recorder.errorsByCode(), timeline: recorder.timeline, thresholds: [], loadGenerator: { cpuMs, callsPerCpuSecond: cpuMs > 0 ? recorder.calls / (cpuMs / 1000) : 0 } };
  report.thresholds = thresholds.map((t) => {
    const actual = measure(report, recorder, t);
    return { threshold: t.source, actual, ok: actual !== null && holds(t, actual) };
  });
  return report;
}

/** The value a threshold is compared with; null when nothing was measured under its name. */
function measure(report: LoadReport, recorder: Recorder, t: Threshold): number | null {
  if (t.metric.kind === 'rate') return report.totals.callsPerSecond;
  let figure: FigureSummary | undefined;
  if (t.name === undefined) figure = t.metric.kind === 'error-rate' || t.metric.kind === 'error-count' ? undefined : report.calls;
  else figure = report.figures.find((f) => f.name === t.name && f.kind === 'method') ?? report.figures.find((f) => f.name === t.name);
  if (t.metric.kind === 'error-rate') {
    if (t.name === undefined) return report.totals.errorRate;
    return figure && figure.count > 0 ? figure.errors / figure.count : null;
  }
  if (t.metric.kind === 'error-count') return t.name === undefined ? report.totals.errors : (figure?.errors ?? null);
  if (!figure || figure.count === 0) return null;
  switch (t.metric.kind) {
    case 'max':
      return figure.max;
    case 'mean':
      return figure.mean;
    case 'percentile':
      return recorder.percentile(figure.kind, t.name === undefined ? undefined : figure.name, t.metric.p);
  }
}

/** A duration in ms for people: `0.42 ms`, `12.3 ms`, `1.52 s`. */
export function ms(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** The summary printed at the end of a run. */
export function summaryLines(report: LoadReport, thresholds: readonly Threshold[]): string[] {
  const lines: string[] = [];
  const model = report.model.kind === 'closed' ? `${report.model.vus} VUs (closed)` : `${report.model.rate}/s arrivals, up to ${report.model.maxVus} VUs (open)`;
  lines.push(`${report.interrupted ? 'Stopped early' : 'Done'}: ${(report.durationMs / 1000).toFixed(1)} s, ${model}, ${report.url}`);
  const header = ['', 'count', 'errors', 'p50', 'p90', 'p99', 'p99.9', 'max'];
  const rows = [...report.figures, ...(report.figures.filter((f) => f.kind === 'method').length > 1 ? [report.calls] : [])].map((f) => [
    label(f),
    String(f.count),
    String(f.errors),
    ms(f.p50),
    ms(f.p90),
    ms(f.p99),
    ms(f.p999),
    ms(f.max),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  const t = report.totals;
  lines.push(`calls: ${t.calls} (${t.callsPerSecond.toFixed(1)}/s); errors: ${t.errors} of ${t.operations} operations (${(t.errorRate * 100).toFixed(2)}%)`);
  for (const e of report.errorsByCode) lines.push(`  error ${e.code}: ${e.count}`);
  lines.push(`load generator: ${(report.loadGenerator.cpuMs / 1000).toFixed(2)} CPU-s, ${report.loadGenerator.callsPerCpuSecond.toFixed(0)} calls per CPU-second`);
  report.thresholds.forEach((r, i) => {
    const th = thresholds[i]!;
    const actual = r.actual === null ? 'nothing measured' : th.metric.kind === 'error-rate' ? `${(r.actual * 100).toFixed(3)}%` : th.metric.kind === 'error-count' ? String(r.actual) : th.metric.kind === 'rate' ? `${r.actual.toFixed(1)} calls/s` : ms(r.actual);
    lines.push(`${r.ok ? '✓' : '✗'} threshold ${r.threshold} (limit ${formatLimit(th)}): ${actual}`);
  });
  return lines;
}

/** A figure's name in the tables: `connect`, `login`, `method echo`, `sub rooms (ready)`. */
export function label(f: FigureSummary): string {
  if (f.kind === 'method') return f.name === '(all calls)' ? 'all calls' : `method ${f.name}`;
  if (f.kind === 'sub') return `sub ${f.name} (ready)`;
  return f.kind;
}
