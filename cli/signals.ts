/**
 * Graceful shutdown on SIGINT/SIGTERM: the first signal closes the server (in-flight methods
 * finish, sockets close with 1001) and exits 0; a second one exits at once, for when the
 * graceful path hangs and the operator presses Ctrl-C again.
 * @module
 */
import { constants } from 'node:os';
import type { CliIo } from './io.js';

/** Calls `close` on the first SIGINT/SIGTERM, then exits; a second signal exits immediately. */
export function closeOnSignals(io: CliIo, close: () => Promise<void>): void {
  let stopping = false;
  io.onSignal((signal) => {
    if (stopping) {
      io.err(`ddp-guard: ${signal} again, exiting without waiting.`);
      // The shell's convention for "killed by a signal": 128 + its number.
      io.exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    stopping = true;
    io.err(`ddp-guard: ${signal} received, shutting down (send it again to exit at once).`);
    close().then(
      () => io.exit(0),
      (err: unknown) => {
        io.err(`ddp-guard: the shutdown failed (${err instanceof Error ? err.message : String(err)}).`);
        io.exit(1);
      },
    );
  });
}
