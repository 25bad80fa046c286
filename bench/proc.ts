/** Reading a process's CPU time and memory from /proc, pinning to cores, and the CPU latency hold of the bench (Linux). */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * The fields of a /proc `stat` file (`/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`) after
 * the command name, which may contain spaces: they start after the last ')'. Index 0 is the
 * state (field 3 in proc(5)), so field n of proc(5) is index n - 3.
 */
export function statFields(file: string): string[] {
  const stat = readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds used so far by `pid`. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(`/proc/${pid}/stat`);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** The nice value (CPU priority) of `pid`'s main thread, from /proc (Linux). */
export function niceOf(pid: number): number {
  return Number(statFields(`/proc/${pid}/stat`)[16]);
}

/** Resident set size of `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Ask the kernel for no deep CPU idle states while the bench runs (PM QoS: 0 µs written to
 * /dev/cpu_dma_latency, held as long as the file stays open; needs root). Otherwise a core that
 * went idle between two calls takes up to milliseconds to wake on a VM, and p99 figures measure
 * that rather than the servers. Both servers run under the same setting.
 */
export function holdLowCpuLatency(): boolean {
  try {
    const fd = openSync('/dev/cpu_dma_latency', 'w');
    const zero = Buffer.alloc(4);
    writeSync(fd, zero);
    return true; // the descriptor stays open until this process exits
  } catch {
    return false;
  }
}

/** Whether `taskset` can pin processes to cores here (it is missing on some systems). */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The port a bench server prints as `ready <port>` on its stdout; rejects if it exits first. */
export function readyPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${name} server exited early (${code})`)));
  });
}
