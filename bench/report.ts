/**
 * The rows of the fleet and capacity benches: each figure with its baseline measured in the same
 * run, the ratio, the target and whether it is met (a miss says NO), printed as a table or as
 * JSON (`--json`, every figure kept).
 */
/** The median, lowest and highest of `xs` (not empty). */
export function spread(xs: readonly number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { median: s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s[s.length - 1]! };
}

export interface Row { scenario: string; metric: string; baseline: number | null; ddp: number; ratio: number | null; target: string; ok: boolean | null }

export class Rows {
  readonly list: Row[] = [];

  add(scenario: string, metric: string, baseline: number | null, ddp: number, target: string, pass: ((ratio: number) => boolean) | null): void {
    const ratio = baseline === null || baseline === 0 ? null : ddp / baseline;
    this.list.push({ scenario, metric, baseline, ddp, ratio, target, ok: pass && ratio !== null ? pass(ratio) : pass ? false : null });
  }

  /** A row with no baseline whose own value has a target (e.g. connections held = asked). */
  check(scenario: string, metric: string, value: number, target: string, ok: boolean): void {
    this.list.push({ scenario, metric, baseline: null, ddp: value, ratio: null, target, ok });
  }

  table(): string {
    const fmt = (v: number | null): string => (v === null ? '—' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3));
    const header = ['scenario', 'metric', 'baseline', 'ddp-guard', 'ratio', 'target', 'ok'];
    const cells = this.list.map((r) => [r.scenario, r.metric, fmt(r.baseline), fmt(r.ddp), r.ratio === null ? '—' : r.ratio.toFixed(2), r.target, r.ok === null ? '' : r.ok ? 'yes' : 'NO']);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((t) => t[i]!.length)));
    const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
    return `${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${cells.map(line).join('\n')}\n`;
  }
}
