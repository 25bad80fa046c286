/**
 * The `ddp-guard` program: one commander program, each subcommand registered from its own
 * file in `commands/`, and the single place where errors become a message and an exit status.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCall } from './commands/call.js';
import { registerLoad } from './commands/load.js';
import { registerRecord } from './commands/record.js';
import { registerScript } from './commands/script.js';
import { registerServe } from './commands/serve.js';
import { registerShell } from './commands/shell.js';
import { registerUser } from './commands/user.js';
import { describeError, EXIT } from './exit-status.js';
import type { CliIo } from './io.js';

/** Adds one subcommand (and its own subcommands) to the program. */
export type RegisterCommand = (program: Command, io: CliIo) => void;

/** The subcommands, in `--help` order. */
export const COMMANDS: readonly RegisterCommand[] = [registerServe, registerUser, registerAudit, registerCall, registerShell, registerScript, registerLoad, registerRecord];

const EXIT_HELP = `
Exit status: ${EXIT.ok} ok, ${EXIT.usage} bad command line, option or value, ${EXIT.notFound} unknown user,
${EXIT.conflict} duplicate (username or email taken), ${EXIT.connection} server unreachable (call, shell, script, load),
${EXIT.failure} anything else (for call and script: the method failed or the transcript did not match).`;

/** Builds the program; commander's own exits are turned into exceptions (see {@link runCli}). */
export function buildProgram(io: CliIo): Command {
  const program = new Command('ddp-guard');
  program
    .description('DDP method server with a two-factor guard, and its administration tools')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText('after', EXIT_HELP);
  // Subcommands inherit exitOverride and the output settings from here.
  for (const register of COMMANDS) register(program, io);
  return program;
}

/**
 * Runs the program on `argv` (as in `process.argv`) and returns the exit status. Errors are
 * printed to stderr as one sentence. A long-running command (`serve`) returns 0 once started;
 * the process then lives until it is stopped.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message already; help and version are not failures.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const report = describeError(err);
    io.err(`ddp-guard: ${report.message}`);
    return report.exitCode;
  }
}

function packageVersion(): string {
  // Runs as dist/cli/program.js: the package root is two levels up.
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
