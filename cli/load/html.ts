/**
 * The `--html` report: one self-contained file (no script, no network: a Content-Security-Policy
 * of `default-src 'none'` says so to the browser) with charts drawn here as SVG — latency
 * percentiles over time, throughput and errors over time, virtual users over time — and the
 * per-method table, errors by code and thresholds. Hand-written SVG rather than a chart library:
 * three line charts do not need one, and nothing has to be inlined or kept up to date.
 * The report's JSON is embedded too (`<script type="application/json" id="report-data">`,
 * data only, which the policy does not run).
 * @module
 */
import { label, ms, type LoadReport } from './report.js';
import type { TimelinePoint } from './stats.js';

const W = 720;
const H = 220;
const PAD = { left: 56, right: 16, top: 16, bottom: 30 };

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** The whole HTML page. */
export function renderHtml(report: LoadReport): string {
  const tl = report.timeline;
  const x = tl.map((p) => p.t);
  const charts = [
    chart('latency', 'Latency of calls completed each second (ms)', x, [
      { name: 'p50', color: '#2563eb', values: tl.map((p) => p.p50) },
      { name: 'p99', color: '#dc2626', values: tl.map((p) => p.p99) },
    ]),
    chart('throughput', 'Calls and errors per second', x, [
      { name: 'calls/s', color: '#059669', values: tl.map((p) => p.calls) },
      { name: 'errors/s', color: '#dc2626', values: tl.map((p) => p.errors) },
    ]),
    chart('vus', 'Virtual users busy', x, [{ name: 'VUs', color: '#7c3aed', values: tl.map((p: TimelinePoint) => p.vus) }]),
  ];
  const t = report.totals;
  const model = report.model.kind === 'closed' ? `${report.model.vus} virtual users (closed model)` : `${report.model.rate} arrivals/s, up to ${report.model.maxVus} virtual users (open model)`;
  const rows = [...report.figures, ...(report.figures.filter((f) => f.kind === 'method').length > 1 ? [report.calls] : [])]
    .map((f) => `<tr><th>${esc(label(f))}</th><td>${f.count}</td><td>${f.errors}</td>${[f.p50, f.p90, f.p95, f.p99, f.p999, f.max, f.mean].map((v) => `<td>${ms(v)}</td>`).join('')}</tr>`)
    .join('\n');
  const errors = report.errorsByCode.length === 0 ? '<p>No errors.</p>' : `<table><tr><th>code</th><th>count</th></tr>${report.errorsByCode.map((e) => `<tr><td>${esc(e.code)}</td><td>${e.count}</td></tr>`).join('')}</table>`;
  const thresholds = report.thresholds.length === 0 ? '<p>No thresholds were set.</p>' : `<ul class="thresholds">${report.thresholds.map((r) => `<li class="${r.ok ? 'ok' : 'fail'}">${r.ok ? '✓' : '✗'} ${esc(r.threshold)}${r.actual === null ? ' (nothing measured)' : ''}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>ddp-guard load report: ${esc(report.url)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 760px; color: #111; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #555; margin: 0; }
.totals { display: flex; gap: 24px; margin: 16px 0; } .totals div { font-size: 22px; } .totals span { display: block; font-size: 12px; color: #555; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 3px 6px; border-bottom: 1px solid #e5e7eb; text-align: right; } th:first-child { text-align: left; }
svg { background: #fafafa; border: 1px solid #e5e7eb; } .axis { stroke: #9ca3af; } .grid { stroke: #e5e7eb; } svg text { font-size: 11px; fill: #374151; }
.ok { color: #059669; } .fail { color: #dc2626; } ul.thresholds { list-style: none; padding: 0; }
</style>
</head>
<body>
<h1>Load test of ${esc(report.url)}</h1>
<p class="meta">${esc(report.input)} · ${esc(model)} · started ${esc(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s${report.interrupted ? ' · stopped early' : ''}</p>
<div class="totals"><div>${t.calls}<span>calls</span></div><div>${t.callsPerSecond.toFixed(1)}<span>calls/s</span></div><div>${ms(report.calls.p50)}<span>p50</span></div><div>${ms(report.calls.p99)}<span>p99</span></div><div>${(t.errorRate * 100).toFixed(2)}%<span>errors (${t.errors})</span></div></div>
<h2>Thresholds</h2>
${thresholds}
${charts.join('\n')}
<h2>Per method and subscription</h2>
<table>
<tr><th></th><th>count</th><th>errors</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
${rows}
</table>
<h2>Errors by code</h2>
${errors}
<script type="application/json" id="report-data">${JSON.stringify(report).replace(/</g, '\\u003c')}</script>
</body>
</html>
`;
}

/** A line chart as an SVG figure, with axes, grid, legend and one path per series. */
function chart(id: string, title: string, x: readonly number[], series: readonly Series[]): string {
  const xMax = Math.max(1, ...x);
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const px = (v: number): number => PAD.left + (v / xMax) * (W - PAD.left - PAD.right);
  const py = (v: number): number => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = yMax * f;
    return `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}"/><text x="${PAD.left - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${fmtNumber(v)}</text>`;
  });
  const ticks = xTicks(xMax).map((v) => `<text x="${px(v).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${v}s</text>`);
  const paths = series.map((s) => {
    const d = s.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${px(x[i]!).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    const dots = s.values.length === 1 ? `<circle cx="${px(x[0]!).toFixed(1)}" cy="${py(s.values[0]!).toFixed(1)}" r="3" fill="${s.color}"/>` : '';
    return `<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
  });
  const legend = series.map((s, i) => `<rect x="${PAD.left + 8 + i * 90}" y="${PAD.top}" width="10" height="10" fill="${s.color}"/><text x="${PAD.left + 22 + i * 90}" y="${PAD.top + 9}">${esc(s.name)}</text>`);
  return `<h2>${esc(title)}</h2>
<svg id="chart-${id}" class="chart" role="img" aria-label="${esc(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">
${grid.join('')}
<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/><line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>
${ticks.join('')}
${paths.join('\n')}
${legend.join('')}
</svg>`;
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function xTicks(xMax: number): number[] {
  const step = niceMax(xMax / 6);
  const ticks: number[] = [];
  for (let v = 0; v <= xMax + 1e-9; v += step) ticks.push(Math.round(v * 10) / 10);
  return ticks;
}

function fmtNumber(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return String(+v.toPrecision(3));
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
