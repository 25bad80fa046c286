/**
 * Runs tasks one at a time per key, in this process; tasks of other keys run freely. The guard
 * uses it so that the lock-out check, the verification and the attempt count of one user's
 * factor happen as one step: parallel guesses on many connections cannot all be verified
 * before the first failure is counted.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  /** Run `task` after every earlier task of `key` has settled; resolves or rejects as it does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (for leak checks). */
  get size(): number {
    return this.tails.size;
  }
}
