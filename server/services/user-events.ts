/**
 * "This user's document changed": published by account and 2FA methods after they write, heard
 * by the user publication, which sends the client the new fields. In-process; the multi-process
 * mode relays the same events through Redis.
 */
export type UserChangeListener = (userId: string) => void;

export class UserEvents {
  private readonly listeners = new Map<string, Set<UserChangeListener>>();

  /** Listen for changes of one user; returns the function that stops listening. */
  listen(userId: string, fn: UserChangeListener): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(userId) === set) this.listeners.delete(userId);
    };
  }

  /** Tell every listener of `userId` that its document changed. */
  changed(userId: string): void {
    const set = this.listeners.get(userId);
    if (!set) return;
    for (const fn of [...set]) fn(userId);
  }

  /** Users with listeners (for leak checks). */
  get size(): number {
    return this.listeners.size;
  }
}
