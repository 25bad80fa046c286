import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createPasswordHasher, passwordDigest } from '../../server/security/password-hasher.js';
import { WORKER_NICE, WORKER_THREAD_NAME } from '../../server/security/password-worker.js';
import { skipBecause } from '../helpers/skip.js';

/** Threads of this process named `name`, with their nice values (from /proc). */
function threadsNamed(name: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      found.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return found;
}

describe('accounts: bcrypt worker threads can be found and placed', function () {
  before(function () {
    if (!existsSync('/proc/thread-self')) skipBecause(this, 'thread names come from /proc/thread-self, which this system lacks (Linux only)');
  });

  it(`names each worker thread '${WORKER_THREAD_NAME}' and runs it at nice ${WORKER_NICE}, leaving the event loop's priority alone`, async () => {
    const before = threadsNamed(WORKER_THREAD_NAME);
    const hasher = createPasswordHasher({ cost: 4, size: 2 });
    try {
      const digest = passwordDigest('pw');
      // Two jobs at once start both workers.
      const [hash] = await Promise.all([hasher.hash(digest), hasher.hash(digest)]);
      expect(await hasher.compare(digest, hash)).to.equal(true);
      const mine = [...threadsNamed(WORKER_THREAD_NAME)].filter(([tid]) => !before.has(tid));
      expect(mine).to.have.length(2);
      for (const [, nice] of mine) expect(nice).to.equal(WORKER_NICE);
      const main = readFileSync('/proc/thread-self/stat', 'utf8');
      expect(Number(main.slice(main.lastIndexOf(')') + 2).split(' ')[16])).to.not.equal(WORKER_NICE);
      expect(readFileSync('/proc/thread-self/comm', 'utf8').trim()).to.not.equal(WORKER_THREAD_NAME);
    } finally {
      await hasher.close();
    }
    const left = [...threadsNamed(WORKER_THREAD_NAME).keys()].filter((tid) => !before.has(tid));
    expect(left).to.deep.equal([]);
  });
});
