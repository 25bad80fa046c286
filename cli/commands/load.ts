/**
 * `ddp-guard load <url>`: a load test of any DDP server, from the transcripts of `script`
 * (`--script`) or a scenario module (`--scenario`), with virtual users that log in as their own
 * accounts (`--users`) and answer two-factor challenges, a closed (`--vus`) or open (`--rate`)
 * model, HDR latency percentiles per method and subscription, thresholds that set the exit
 * status, live progress, and JSON and self-contained HTML reports.
 *
 * Exit status: 0 every threshold held, 1 a threshold did not hold, 2 a bad option or input,
 * 5 the server cannot be reached, 130 stopped by Ctrl-C (after the summary and reports).
 * @module
 */
import { setMaxListeners } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { drive, type VirtualUser } from '../load/driver.js';
import { renderHtml } from '../load/html.js';
import { DEFAULTS, planLoad, type LoadFlags, type LoadPlan } from '../load/options.js';
import { buildReport, ms, summaryLines, type LoadReport } from '../load/report.js';
import { ScenarioVu } from '../load/scenario-vu.js';
import { Recorder, type TimelinePoint } from '../load/stats.js';
import { TotpPacer } from '../load/totp-pacer.js';
import { idsExpectingErrors, keptKinds, prepareSteps, TranscriptVu } from '../load/transcript-vu.js';
import { userVariables } from '../load/users.js';
import { TranscriptSocket } from '../script/socket.js';
import { EXIT_CONNECTION } from '../remote.js';

/** Exit status after Ctrl-C: the shell's 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

const HELP_AFTER = `
Each iteration of a --script runs the whole transcript on a new connection (the format of
'ddp-guard script'); a --scenario module's default export runs with a connected, logged-in
client: export default async function ({ call, subscribe, sleep, vu }) { await call('echo', 1) }.
Users file: username,password[,totpSecret] per line, or a header naming the columns
(username,password,totpSecret,token). A transcript sees {{username}}, {{password}}, {{secret}}
and {{token}}; a 'totp-required' answer is retried with a code from the user's secret.
Thresholds: [NAME:]METRIC OP VALUE, as in 'p99<50ms', 'errors<0.1%', 'login:p95<=300ms',
'calls/s>=100'; NAME is a method, a subscription, connect or login.

Exit status: 0 every threshold held, 1 a threshold did not hold, 2 a bad option or input,
5 the server cannot be reached, 130 stopped by Ctrl-C (the summary and reports are written).`;

/** Adds `load` to the program. */
export function registerLoad(program: Command, io: CliIo): void {
  program
    .command('load <url>')
    .description('load-test any DDP server from a transcript or a scenario module, with per-user logins and 2FA (for testers)')
    .option('--script <file>', 'a transcript (the format of ddp-guard script), run once per iteration on a new connection')
    .option('--scenario <file>', 'a JS module whose default export gets a connected, logged-in client per iteration')
    .option('--users <file>', 'a CSV of accounts, one per virtual user: username,password[,totpSecret] (or a header with a token column)')
    .option('--vus <n>', `closed model: this many virtual users (default ${DEFAULTS.vus}); with --rate: the most virtual users (default ${DEFAULTS.maxVus})`)
    .option('--rate <r>', 'open model: iterations started per second (50 or 50/s), whatever the server does')
    .option('--duration <time>', 'how long to run: 30s, 2m, 500ms (default 30s)')
    .option('--ramp <time>', 'grow the VUs (or the rate) linearly from 0 over this long (default 0)')
    .option('--threshold <rule>', "fail (exit 1) unless this holds, as in 'p99<50ms' or 'errors<0.1%' (repeatable)", repeat)
    .option('--json <file>', 'write the figures as JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--timeout <ms>', `how long an expected message, a call or a connection may take (default ${DEFAULTS.timeoutMs})`)
    .option('--var <name=value>', 'set a transcript variable (repeatable)', repeat)
    .option('--local-address <addresses>', 'comma-separated source addresses used in turn (e.g. 127.0.0.1,127.0.0.2 when ephemeral ports run short)')
    .addHelpText('after', HELP_AFTER)
    .action(async (url: string, flags: LoadFlags) => runLoad(url, flags, io));
}

async function runLoad(urlText: string, flags: LoadFlags, io: CliIo): Promise<void> {
  const plan = await planLoad(urlText, flags, io.cwd);
  await probe(plan);
  const recorder = new Recorder();
  const stop = new AbortController();
  // Every waiting virtual user listens for the stop: thousands of listeners are expected.
  setMaxListeners(0, stop.signal);
  let interrupted = false;
  io.onSignal((signal) => {
    if (interrupted) {
      io.err(`ddp-guard: ${signal} again, exiting without a report.`);
      io.exit(EXIT_INTERRUPTED);
      return;
    }
    interrupted = true;
    io.err(`\nddp-guard: ${signal} received, stopping (the summary and reports follow; send it again to exit at once).`);
    stop.abort();
  });
  const startedAt = new Date().toISOString();
  const model = plan.model.kind === 'closed' ? `${plan.model.vus} VUs` : `${plan.model.rate}/s, up to ${plan.model.maxVus} VUs`;
  io.err(`Load test of ${plan.url}: ${plan.input.file}, ${model}, ${plan.durationMs / 1000} s${plan.rampMs > 0 ? ` (ramp ${plan.rampMs / 1000} s)` : ''}`);
  // Preparing the transcript (its frames encoded, its patterns compiled) is setup, like parsing
  // it: the load generator's CPU time is the run's, from the first connection to the last close.
  const makeVu = vuFactory(plan, recorder, stop.signal);
  const cpuBefore = process.cpuUsage();
  const { elapsedMs } = await drive({
    model: plan.model,
    durationMs: plan.durationMs,
    rampMs: plan.rampMs,
    makeVu,
    recorder,
    stop,
    graceMs: Math.min(plan.timeoutMs, 5000),
    onTick: (point) => progress(io, point),
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (io.errIsTTY) io.ask('\n');
  const report = buildReport(recorder, { url: plan.url, input: plan.input.file, model: plan.model, startedAt, durationMs: elapsedMs, interrupted }, (cpu.user + cpu.system) / 1000, plan.thresholds);
  for (const line of summaryLines(report, plan.thresholds)) io.out(line);
  writeReports(plan, report, io);
  if (interrupted) throw new CliError('Stopped by a signal before the end; the summary and reports above cover the time it ran.', EXIT_INTERRUPTED);
  const failed = report.thresholds.filter((t) => !t.ok);
  if (failed.length > 0) throw new CliError(`${failed.length} threshold${failed.length === 1 ? '' : 's'} did not hold: ${failed.map((t) => t.threshold).join(', ')}.`, EXIT.failure);
}

/** One connection first: an unreachable server is one line and exit 5, before any report exists. */
async function probe(plan: LoadPlan): Promise<void> {
  try {
    const socket = await TranscriptSocket.open(plan.url, plan.timeoutMs);
    socket.close();
  } catch (err) {
    throw new CliError(`Cannot connect to ${plan.url} (${(err as Error).message}): check the address and that the server is running.`, EXIT_CONNECTION);
  }
}

function vuFactory(plan: LoadPlan, recorder: Recorder, stop: AbortSignal): (index: number) => VirtualUser {
  const local = (index: number): string | undefined => (plan.localAddresses.length === 0 ? undefined : plan.localAddresses[index % plan.localAddresses.length]);
  if (plan.input.kind === 'scenario') {
    const shared = { url: plan.url, scenario: plan.input.scenario, timeoutMs: plan.timeoutMs, recorder, stop };
    return (index) => new ScenarioVu(shared, index + 1, plan.users?.[index]);
  }
  const steps = prepareSteps(plan.input.steps);
  const shared = { url: plan.url, steps, keptKinds: keptKinds(steps), expectErrors: idsExpectingErrors(plan.input.steps), variables: plan.variables, timeoutMs: plan.timeoutMs, recorder, pacer: new TotpPacer(), stop };
  return (index) => {
    const user = plan.users?.[index];
    return new TranscriptVu(shared, userVariables(user), user, local(index));
  };
}

/** One line a second: rewritten in place on a terminal, plain lines otherwise. */
function progress(io: CliIo, p: TimelinePoint): void {
  const line = `${String(p.t).padStart(4)}s  VUs ${String(p.vus).padStart(5)}  calls/s ${String(p.calls).padStart(6)}  p50 ${ms(p.p50).padStart(8)}  p99 ${ms(p.p99).padStart(8)}  errors ${p.errors}`;
  if (io.errIsTTY) io.ask(`\r\x1b[K${line}`);
  else io.err(line);
}

/** Writes each report to a temporary name, then renames it: a report is whole or absent. */
function writeReports(plan: LoadPlan, report: LoadReport, io: CliIo): void {
  const write = (file: string, text: string): void => {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file);
    io.err(`Wrote ${file}`);
  };
  if (plan.json) write(plan.json, `${JSON.stringify(report, null, 2)}\n`);
  if (plan.html) write(plan.html, renderHtml(report));
}
