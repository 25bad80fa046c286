/**
 * The command line of `npm run bench` (`node dist/bench/run.js`): parsed before anything is
 * started, so `--help` and a mistyped flag answer at once instead of running the bench.
 */

/** The scenarios, in the order they run. */
export const SCENARIOS = Object.freeze(['small', '1kb', 'guarded', 'latency', 'logins', 'idle', 'shipped'] as const);
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** Measure window per scenario, in ms. */
  durationMs: number;
  /** Idle connections per server in the `idle` and `shipped` scenarios. */
  idle: number;
  json: boolean;
  /** Scenarios to run; empty = all. */
  only: readonly Scenario[];
  /** Where `--cpu-prof` profiles of the ddp-guard server go; '' = no profile. */
  profileDir: string;
}

export const HELP = `Usage: node dist/bench/run.js [options]   (npm run bench -- [options])

Measures ddp-guard against a raw ws JSON echo server started in the same run, each server in
its own process on core 0 (taskset), the load generator on core 1, and prints each figure
with its ratio to that baseline and whether it meets its target.

Scenarios: ${SCENARIOS.join(', ')}
(shipped: 'ddp-guard serve' started through its CLI entry with its defaults, plus an --app
that registers echo and echo.guarded)

Options:
  --duration <s>    measure window per scenario after 1 s of warm-up (default 4)
  --idle <n>        idle connections for the idle and shipped scenarios (default 10000)
  --only <a,b,...>  run only these scenarios
  --json            print the rows as JSON on stdout
  --profile <dir>   write --cpu-prof profiles of the ddp-guard servers to <dir>
  -h, --help        this text`;

/** The options, `'help'`, or a message saying what is wrong. */
export function parseBenchArgs(args: readonly string[]): BenchOptions | 'help' | { error: string } {
  const options: BenchOptions = { durationMs: 4000, idle: 10_000, json: false, only: [], profileDir: '' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string | undefined => args[++i];
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '--json':
        options.json = true;
        break;
      case '--duration': {
        const seconds = Number(value());
        if (!(seconds > 0)) return { error: '--duration takes a number of seconds above 0' };
        options.durationMs = seconds * 1000;
        break;
      }
      case '--idle': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 2) return { error: '--idle takes a whole number of connections, at least 2' };
        options.idle = n;
        break;
      }
      case '--only': {
        const names = (value() ?? '').split(',').filter(Boolean);
        const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
        if (names.length === 0 || unknown.length > 0) return { error: `--only takes scenarios among ${SCENARIOS.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}` };
        options.only = names as Scenario[];
        break;
      }
      case '--profile': {
        const dir = value();
        if (dir === undefined || dir === '') return { error: '--profile takes a folder' };
        options.profileDir = dir;
        break;
      }
      default:
        return { error: `unknown option '${arg}'` };
    }
  }
  return options;
}
