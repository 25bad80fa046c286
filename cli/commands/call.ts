/**
 * `ddp-guard call <url> <method> [params...]`: call one method on any DDP server and print the
 * result as EJSON; when the server asks for a second factor (`totp-required`/`totp-invalid`),
 * answer with `--code`, a code computed from `--totp-secret`, or a prompt in a terminal.
 * @module
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { askHidden } from '../prompt.js';
import { openRemote, remote, terminalAsk, withRemoteFlags, type RemoteFlags } from '../remote.js';
import { decodeParams, formatValue } from '../values.js';

const HELP_AFTER = `
Parameters are EJSON texts, one per argument: 42, true, null, '{"a":1}', '{"$date":0}', '"42"'
(the string 42); a word that is not JSON is a string (hello); text that starts like JSON
({, [ or ") but is not valid JSON is an error. The code of 2fa:validateTempToken, 2fa:disable
and 2fa:regenerateCodes stays text (540583 is not sent as a number).
With --user and no --password, a terminal asks for the password without echo.
The result is printed as EJSON on stdout; errors as 'error [code]: reason' on stderr.

Two-factor: when the server answers totp-required or totp-invalid, the code comes from --code
(used once), else from --totp-secret (the current code is computed), else from a prompt when
run in a terminal. With --method password, give the password (or its sha-256 hex digest).

Exit status: 0 ok, 1 the method (or login) failed, 2 bad command line, 5 cannot reach the server.`;

/** Adds `call` to the program. */
export function registerCall(program: Command, io: CliIo): void {
  withRemoteFlags(program.command('call <url> <method> [params...]'))
    .description('call a method on a DDP server and print the result; asks for a 2FA code when the server wants one')
    .option('--code <code>', 'the two-factor code to answer the first challenge with')
    .addHelpText('after', HELP_AFTER)
    .action(async (url: string, method: string, params: string[], flags: RemoteFlags) => {
      const values = decodeParams(method, params);
      const client = await openRemote(url, flags, { reconnect: false, ask: terminalAsk(io), askPassword: io.stdin.isTTY ? (q) => askHidden(io, q) : undefined });
      try {
        const result = await remote(() => client.apply(method, values));
        if (result !== undefined) io.out(formatValue(result));
      } finally {
        client.close();
      }
    });
}
