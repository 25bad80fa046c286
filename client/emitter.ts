/**
 * A tiny typed event emitter. The client runs in browsers too, so it cannot use Node's `events`.
 */

/** A listener for an event whose arguments are the tuple `A`. */
export type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * Events are declared as a map from event name to argument tuple, for example
 * `{ connected: [sessionId: string]; closed: [] }`.
 */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  #listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  /** Add a listener. Returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners[event];
    if (!set) {
      set = new Set();
      this.#listeners[event] = set;
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Add a listener that runs at most once. Returns a function that removes it. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      listener(...args);
    });
    return off;
  }

  /** Remove a listener added with {@link on}. */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.#listeners[event]?.delete(listener);
  }

  /**
   * Call every listener of `event` in the order they were added. A throwing listener does not
   * stop the others nor the client's own message handling: its error is rethrown on a fresh
   * task, where the host reports it as an uncaught error.
   */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners[event];
    if (!set || set.size === 0) return;
    // A copy, so listeners may remove themselves (once) while we iterate.
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }

  /** Number of listeners of `event` (mostly for tests and leak checks). */
  listenerCount(event: keyof E): number {
    return this.#listeners[event]?.size ?? 0;
  }
}
