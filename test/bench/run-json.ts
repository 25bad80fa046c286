/** Runs a bench script with `--json` and returns its exit code, parsed output and stderr. */
import { spawn } from 'node:child_process';

import type { Row } from '../../bench/report.js';

export type { Row };

export function runJson(script: string, args: string[]): Promise<{ code: number | null; json: { rows: Row[] } & Record<string, unknown>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        resolve({ code, json: JSON.parse(out) as { rows: Row[] }, stderr: err });
      } catch {
        reject(new Error(`no JSON (exit ${code}): ${err}`));
      }
    });
  });
}
