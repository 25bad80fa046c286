/**
 * `ddp-guard record --listen 127.0.0.1:4000 --target ws://host/websocket --out session.ddp`:
 * a proxy between a real client and any DDP server. Every frame passes through unchanged and
 * shows live, by direction (`→` client to server, `←` server to client); at the end — Ctrl-C,
 * or with `--once` when the first client disconnects — the first session is written as a
 * transcript that `script` replays and `load` runs, with secrets as variables (see
 * `../record/redact.ts`).
 *
 * Exit status: 0 the transcript was written, 1 no session was recorded, 2 a bad option,
 * 5 the target cannot be reached.
 * @module
 */
import { renameSync, writeFileSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit-status.js';
import type { CliIo } from '../io.js';
import { startProxy } from '../record/proxy.js';
import { toTranscript, type RecordedMessage } from '../record/redact.js';
import { TranscriptSocket } from '../script/socket.js';
import { EXIT_CONNECTION } from '../remote.js';
import { webSocketUrl } from '../values.js';

interface RecordFlags {
  listen: string;
  target: string;
  out: string;
  once?: boolean;
}

/** Adds `record` to the program. */
export function registerRecord(program: Command, io: CliIo): void {
  program
    .command('record')
    .description('a proxy between a DDP client and server that shows the traffic and writes a replayable transcript (for testers)')
    .requiredOption('--listen <host:port>', 'where clients connect instead of the server, e.g. 127.0.0.1:4000')
    .requiredOption('--target <url>', 'the server: ws://host:port/websocket (SockJS URLs too)')
    .requiredOption('--out <file>', 'the transcript to write at the end')
    .option('--once', 'stop when the first client disconnects (otherwise on Ctrl-C)')
    .addHelpText('after', '\nThe first session is written; passwords, codes and tokens become {{password}}, {{totp:{{secret}}}}, {{token}}...\nExit status: 0 written, 1 nothing recorded, 2 a bad option, 5 the target cannot be reached.')
    .action(async (flags: RecordFlags) => runRecord(flags, io));
}

async function runRecord(flags: RecordFlags, io: CliIo): Promise<void> {
  const m = /^(.+):(\d+)$/.exec(flags.listen.trim());
  if (!m || Number(m[2]) > 65535) throw new CliError(`--listen takes host:port, as in 127.0.0.1:4000; got '${flags.listen}'.`, EXIT.usage);
  const target = webSocketUrl(flags.target);
  const out = path.resolve(io.cwd, flags.out);
  try {
    accessSync(path.dirname(out), constants.W_OK);
  } catch {
    throw new CliError(`--out: cannot write to ${path.dirname(out)} (no such folder, or not writable).`, EXIT.usage);
  }
  try {
    (await TranscriptSocket.open(target, 10_000)).close();
  } catch (err) {
    throw new CliError(`Cannot connect to ${target} (${(err as Error).message}): check --target and that the server is running.`, EXIT_CONNECTION);
  }
  let first: RecordedMessage[] | undefined;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let proxy;
  try {
    proxy = await startProxy({
      host: m[1]!.replace(/^\[|\]$/g, ''),
      port: Number(m[2]),
      target,
      print: (line) => io.out(line),
      onSessionEnd: (index, messages) => {
        if (first === undefined && index === 1) first = messages;
        if (flags.once && index === 1) finish();
      },
    });
  } catch (err) {
    throw new CliError(`Cannot listen on ${flags.listen} (${(err as Error).message}).`, EXIT.usage);
  }
  io.err(`Recording: clients connect to ws://${flags.listen}/websocket instead of ${target}; ${flags.once ? 'stops when the first client disconnects' : 'Ctrl-C writes the transcript'}.`);
  io.onSignal(() => finish());
  await finished;
  first ??= proxy.openSessions().find((s) => s.index === 1)?.messages;
  await proxy.close();
  if (!first || first.length === 0) throw new CliError('No session was recorded: no client connected through the proxy; nothing was written.', EXIT.failure);
  const temp = `${out}.${process.pid}.tmp`;
  writeFileSync(temp, toTranscript(first, target));
  renameSync(temp, out);
  io.err(`Wrote ${out} (${first.length} messages of session 1).`);
}
