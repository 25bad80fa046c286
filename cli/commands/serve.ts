/**
 * `ddp-guard serve`: merge the configuration, create the server, hand it to the `--app`
 * module, listen, print where it listens, and close gracefully on SIGINT/SIGTERM.
 * @module
 */
import type { Command } from 'commander';
import type { GuardServer } from '../../server/index.js';
import { createPinoLogger } from '../../server/runtime/logger.js';
import { DEFAULTS } from '../../server/services/options.js';
import { loadApp, type AppSetup } from '../app-module.js';
import type { ServeFlags } from '../config.js';
import { loadConfig } from '../config-file.js';
import { envVarName } from '../config-values.js';
import { describeDatabase, describeMail } from '../database.js';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { closeOnSignals } from '../signals.js';
import { addOptionFlags } from '../serve-flags.js';

const HELP_AFTER = `
Settings are merged in this order, later ones winning:
  defaults < config file (--config or ${envVarName('config')}) < environment variables < flags

The config file is a JSON object whose keys are the server option names, such as
  {"port": 3000, "db": "./data/ddp-guard.sqlite", "smtpUrl": "smtp://mail:587", "trustedClientMs": 300000}
plus "app" and "logLevel". Paths in it ("db", "outboxDir", "app") are relative to the file.

Every option also has an environment variable: ${envVarName('')}<OPTION_NAME>, for example
  ${envVarName('port')}, ${envVarName('db')}, ${envVarName('smtpUrl')}, ${envVarName('secret')}, ${envVarName('trustedClientMs')},
  ${envVarName('app')}, ${envVarName('logLevel')}
(numbers and booleans are parsed; an empty variable counts as unset).

Several processes behind a load balancer: give each the same PostgreSQL --db, the same --redis
and the same secret (${envVarName('secret')}); they then share users, codes, attempts, rate limits
and stream events.

Without --smtp, mail (email codes, verification links) is written to the outbox folder
(option "outboxDir", default ${DEFAULTS.outboxDir}); the start-up line says where.`;

/** Adds `serve` to the program. */
export function registerServe(program: Command, io: CliIo): void {
  const command = program
    .command('serve')
    .description('run the DDP server with the two-factor guard')
    .option('--app <module>', "JavaScript module whose default export '(server) => ...' registers methods and publications")
    .option('--config <file>', 'JSON config file')
    .option('--log-level <level>', 'debug, info, warn, error or silent (default info)');
  addOptionFlags(command)
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: ServeFlags) => serve(flags, io));
}

async function serve(flags: ServeFlags, io: CliIo): Promise<void> {
  const config = loadConfig(flags, io);
  // Loaded before the server exists, so a wrong --app fails without opening anything.
  const setup = config.app === null ? null : await loadApp(config.app, io.cwd);
  // Imported here: the server pulls in most of the code base, which the other commands skip.
  const { createServer } = await import('../../server/index.js');
  const server = createServer({ ...config.options, logger: createPinoLogger({ level: config.logLevel }) });
  closeOnSignals(io, () => server.close());
  try {
    if (setup) await runSetup(setup, server, config.app ?? '');
    await server.listen();
  } catch (err) {
    await server.close();
    throw err;
  }
  const { db, smtpUrl, outboxDir, redisUrl } = config.resolved;
  const shared = redisUrl === null ? '' : `; shared through Redis at ${redisHost(redisUrl)}`;
  const mail = smtpUrl === null ? '' : await smtpWarning(server);
  io.out(`ddp-guard listening on ${server.url} (database: ${describeDatabase(db, io.cwd)}; ${describeMail(smtpUrl, outboxDir, io.cwd)}${mail}${shared})`);
}

/** How long the start-up check of the SMTP server may take before it counts as unreachable. */
const SMTP_CHECK_MS = 3000;

/**
 * ` — WARNING: …` when the SMTP server does not greet us now, for the start line. Mail is not needed to start (it
 * may come up later; `/readyz` keeps asking), but the person starting the server should not
 * learn it from the first user who gets no code.
 */
async function smtpWarning(server: GuardServer): Promise<string> {
  const { mailer } = await server.services.get();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${SMTP_CHECK_MS / 1000} s`)), SMTP_CHECK_MS);
  });
  try {
    await Promise.race([mailer.verify(), timeout]);
    return '';
  } catch (err) {
    // The transport's own words (`connect ECONNREFUSED 127.0.0.1:25`), not the mailer's advice.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return ` — WARNING: it cannot be reached (${reason}): email codes and other mail fail until it can`;
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port` of a Redis URL: never its password. */
function redisHost(url: string): string {
  return new URL(url).host;
}

async function runSetup(setup: AppSetup, server: GuardServer, app: string): Promise<void> {
  try {
    await setup(server);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CliError(`The default export of the app module ${app} failed (${reason}): fix the module and start again.`, EXIT.failure);
  }
}
