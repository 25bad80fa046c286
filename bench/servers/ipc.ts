/**
 * The bench's messages to a server process, the same for the baseline and ddp-guard: `gc`
 * runs the most thorough garbage collection V8 has ("last resort": it also gives free pages
 * back to the OS), so that RSS read right after counts what is held, not what was freed but
 * still mapped.
 */
export function answerBenchMessages(): void {
  process.on('message', (m) => {
    if (m === 'gc' && global.gc) global.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  });
}
