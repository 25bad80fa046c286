/**
 * Helpers for the observability tests: GET a URL, parse the Prometheus text format, find a
 * free port, and a pino destination that keeps every line in memory.
 */
import { freePort } from '../helpers/ports.js';
export { freePort };

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

export async function get(url: string): Promise<HttpAnswer> {
  const res = await fetch(url);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** `http://host:port` of a server whose `url` is `ws://host:port/websocket`. */
export function httpBase(wsUrl: string): string {
  return wsUrl.replace(/^ws/, 'http').replace(/\/websocket$/, '');
}

/** One sample of the text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a scrape, and the `# TYPE` of each metric family. */
export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  text: string;
}

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types, text };
}

export async function scrape(url: string): Promise<Scrape> {
  const answer = await get(url);
  if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status} ${answer.text}`);
  return parseMetrics(answer.text);
}

/** The value of the sample with exactly these labels (among others), or undefined. */
export function sample(scraped: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = scraped.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** A pino destination that keeps every line. */
export function memoryDestination(): { write(line: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}
