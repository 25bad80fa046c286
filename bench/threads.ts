/**
 * Finding a process's threads by name and placing them (Linux: /proc, `taskset`), and the
 * load generator's own priority. Used by the `logins` scenario to put the server's bcrypt
 * worker threads on other cores than its event loop. Where /proc or `taskset` is missing,
 * nothing is found and nothing moves.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { statFields } from './proc.js';

/** One thread of a process: its id and nice value. */
export interface ThreadInfo { tid: number; nice: number }

/** The threads of process `pid` whose name (`comm`) is `name`. */
export function threadsNamed(pid: number, name: string): ThreadInfo[] {
  const found: ThreadInfo[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found; // no /proc
  }
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const nice = Number(statFields(`/proc/${pid}/task/${tid}/stat`)[16]); // field 19: nice
      found.push({ tid: Number(tid), nice });
    } catch {
      // the thread ended meanwhile
    }
  }
  return found;
}

/** Allow thread `tid` on the CPUs of `cpuList` (taskset syntax, e.g. `0,1` or `2-7`). */
export function pinThread(tid: number, cpuList: string): void {
  execFileSync('taskset', ['-p', '-c', cpuList, String(tid)], { stdio: 'ignore' });
}

/**
 * Put thread `tid` in the SCHED_IDLE class (`chrt -i`): it runs only when nothing else of
 * normal priority wants the CPU, and any such thread waking up preempts it at once. Returns
 * false where `chrt` is missing or refuses.
 */
export function idleClassThread(tid: number): boolean {
  try {
    execFileSync('chrt', ['-i', '-p', '0', String(tid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPUs online (all of them, whatever this process's own affinity). */
export function cpuCount(): number {
  return os.cpus().length || os.availableParallelism();
}

/**
 * Set the calling thread's nice value; returns the previous one, or null when the OS refused
 * (a negative value needs root or CAP_SYS_NICE).
 */
export function setOwnNice(nice: number): number | null {
  const before = os.getPriority(0);
  try {
    os.setPriority(0, nice);
    return before;
  } catch {
    return null;
  }
}
