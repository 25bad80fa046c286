#!/usr/bin/env node
/**
 * The `ddp-guard` binary. Everything happens in `program.ts`; this file only connects it to
 * the real process.
 * @module
 */
import { processIo } from './io.js';
import { runCli } from './program.js';

// exitCode rather than exit(): pending output is flushed and a started server keeps running.
process.exitCode = await runCli(process.argv, processIo());
