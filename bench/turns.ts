/**
 * Throughput of several servers measured in turns: one short slice each, round after round,
 * with every connection opened (and logged in) before the first. On a shared machine the load
 * of other processes drifts within seconds; measured one after the other, each server gets a
 * different share of that drift, and a 3 % difference cannot be told from the noise. In turns,
 * every server sees the same drift, the figures are summed over the rounds, and the spread of
 * the per-round ratios is kept to show how far one round can be trusted.
 */
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from './proc.js';
import { latencySummary, type CallOptions, type LoadConnection } from './load.js';
import { spread } from './report.js';

/** One server and the calls sent to it in its turn. */
export interface Contender {
  readonly name: string;
  /** The server's process: its CPU time is read from /proc/<pid>/stat (all its threads). */
  readonly pid: number;
  readonly connections: readonly LoadConnection[];
  readonly call: CallOptions;
}

export interface TurnsOptions {
  rounds: number;
  sliceMs: number;
  /** Calls kept in flight on each connection. */
  inFlight: number;
  /** Rounds run first and not counted (code warm-up, pools filled). */
  warmupRounds: number;
}

export interface TurnsFigures {
  calls: number;
  cpuSec: number;
  callsPerCpuSec: number;
  /** Calls per server CPU-second in each counted round. */
  perRound: number[];
  p50: number;
  p99: number;
}

/**
 * Run the contenders' slices in turns; the order rotates every round so that none always
 * follows the same one. Each slice's CPU is read before its first call and after its last
 * reply, so a slice pays for its own calls only.
 */
export async function inTurns(contenders: readonly Contender[], options: TurnsOptions): Promise<Map<string, TurnsFigures>> {
  const acc = contenders.map(() => ({ calls: 0, cpuSec: 0, perRound: [] as number[], latencies: [] as number[] }));
  for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
    const counted = round >= options.warmupRounds;
    for (let k = 0; k < contenders.length; k++) {
      const i = (round + k) % contenders.length;
      const c = contenders[i]!;
      const latencies: number[] = [];
      const cpu0 = cpuSeconds(c.pid);
      const from = performance.now();
      const counts = await Promise.all(c.connections.map((conn) => conn.run(c.call, options.inFlight, from, from + options.sliceMs, latencies)));
      const cpu = cpuSeconds(c.pid) - cpu0;
      if (!counted) continue;
      const calls = counts.reduce((a, b) => a + b, 0);
      const a = acc[i]!;
      a.calls += calls;
      a.cpuSec += cpu;
      a.perRound.push(calls / Math.max(cpu, 0.01));
      for (const l of latencies) a.latencies.push(l);
    }
  }
  return new Map(contenders.map((c, i) => {
    const a = acc[i]!;
    const { p50, p99 } = latencySummary(a.latencies);
    return [c.name, { calls: a.calls, cpuSec: a.cpuSec, callsPerCpuSec: a.calls / Math.max(a.cpuSec, 0.01), perRound: a.perRound, p50, p99 }];
  }));
}

/** Per-round ratios of `of` to `to` (same rounds): their median, lowest and highest. */
export function roundRatios(of: TurnsFigures, to: TurnsFigures): { median: number; min: number; max: number } {
  return spread(of.perRound.map((v, i) => v / to.perRound[i]!));
}
