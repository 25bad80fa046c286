/**
 * Shared pieces of the `ddp-guard load` tests: the bench's floor server (a minimal DDP server
 * that is not ddp-guard) in a child process, transcripts and users files in temp folders, and a
 * JSON report read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '../../cli/load/report.js';
import { within } from './support.js';

/** dist/bench/servers/floor.js, next to this compiled test. */
const FLOOR = fileURLToPath(new URL('../../bench/servers/floor.js', import.meta.url));

/** A running floor server. */
export interface FloorServer {
  url: string;
  close(): void;
}

/** Starts the floor server on a free loopback port. */
export async function startFloor(): Promise<FloorServer> {
  const child: ChildProcess = spawn(process.execPath, [FLOOR], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await within(
    new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /ready (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
    }),
    10_000,
    'the floor server',
  );
  return { url: `ws://127.0.0.1:${port}/websocket`, close: () => void child.kill('SIGKILL') };
}

/** A transcript that connects, calls `echo`, subscribes to `rooms` and calls `echo` again. */
export const ECHO_TRANSCRIPT = `# connect, a call, a subscription, a call
> {"msg":"connect","version":"1","support":["1"]}
< {"msg":"connected","session":"{{=session}}"}
> {"msg":"method","method":"echo","params":["hi"],"id":"1"}
< {"msg":"result","id":"1","result":["hi"]}
> {"msg":"sub","id":"s1","name":"rooms","params":[]}
< {"msg":"ready","subs":["s1"]}
> {"msg":"method","method":"echo","params":["again"],"id":"2"}
< {"msg":"result","id":"2"}
`;

/** Reads a `--json` report. */
export function readReport(file: string): LoadReport {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LoadReport;
}
