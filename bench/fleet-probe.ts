/**
 * The probe of the `fleet` bench (bench/fleet.ts), a small process of its own: plain calls on
 * one more connection at a fixed rate (open loop), the same code for the raw `ws` servers
 * (`{id, params}`) and for ddp-guard (`method echo`), so that its latency is measured neither
 * inside the parent nor beside thousands of load-generator sockets. It also reports its own
 * event loop's delay, to tell a late probe from a slow server.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LoadConnection, latencySummary, type Protocol } from './load.js';

export type ToProbe = { type: 'probe'; url: string; protocol: Protocol; rate: number; warmUpMs: number; ms: number };
export interface ProbeResult {
  type: 'probed';
  calls: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** This process's own event-loop delay while it probed (ms): p99 and max. */
  selfDelayP99: number;
  selfDelayMax: number;
}

const DELAY_RESOLUTION_MS = 20;
/** The histogram holds whole intervals between its timer's runs: the delay is what exceeds the period (ms). */
const late = (ns: number): number => Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS);

async function probe(m: ToProbe): Promise<ProbeResult> {
  const conn = await LoadConnection.open(m.url, m.protocol);
  const latencies: number[] = [];
  const from = performance.now() + m.warmUpMs;
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  setTimeout(() => delay.enable(), m.warmUpMs);
  try {
    await conn.runPaced({ method: 'echo', payloadJson: '"hello"' }, 1000 / m.rate, from, from + m.ms, latencies);
  } finally {
    delay.disable();
    conn.close();
  }
  return { type: 'probed', calls: latencies.length, ...latencySummary(latencies), max: Math.max(...latencies), selfDelayP99: late(delay.percentile(99)), selfDelayMax: late(delay.max) };
}

process.on('message', (m: ToProbe) => {
  probe(m).then((r) => process.send!(r), (err: unknown) => {
    process.stderr.write(`fleet probe failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
});
