#!/usr/bin/env node
/**
 * The `ddp-guard` binary. Everything happens in `program.ts`; this file only connects it to
 * the real process.
 * @module
 */
import { processIo } from './io.js';
import { runCli } from './program.js';

// `ddp-guard serve --help | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// exitCode rather than exit(): pending output is flushed and a started server keeps running.
process.exitCode = await runCli(process.argv, processIo());
