/**
 * The per-connection message queue: one task at a time, in arrival order, as Meteor's
 * `Session.processMessage`. A task may call `unblock()` to let the next one start before it
 * finishes (`this.unblock()` in a method). A task that throws or rejects never stalls the queue.
 */

/** A queued task. It receives `unblock`; its returned promise settling also unblocks. */
export type QueueTask = (unblock: () => void) => void | Promise<void>;

export class TaskQueue {
  private readonly tasks: QueueTask[] = [];
  private head = 0;
  private running = false;
  private stopped = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Tasks waiting (not counting the running one). */
  get pending(): number {
    return this.tasks.length - this.head;
  }

  push(task: QueueTask): void {
    if (this.stopped) return;
    this.tasks.push(task);
    if (!this.running) this.runNext();
  }

  /** Drop waiting tasks; nothing new is accepted. */
  stop(): void {
    this.stopped = true;
    this.tasks.length = 0;
    this.head = 0;
  }

  private runNext(): void {
    while (!this.stopped && this.head < this.tasks.length) {
      const task = this.tasks[this.head]!;
      this.tasks[this.head++] = undefined as unknown as QueueTask;
      if (this.head > 1024 && this.head * 2 > this.tasks.length) {
        this.tasks.splice(0, this.head);
        this.head = 0;
      }
      this.running = true;
      let released = false;
      let ranSync = true;
      const unblock = (): void => {
        if (released) return;
        released = true;
        this.running = false;
        // A task unblocked after its synchronous part returns: resume draining from here.
        if (!ranSync) this.runNext();
      };
      let result: void | Promise<void>;
      try {
        result = task(unblock);
      } catch (err) {
        this.onError(err);
        result = undefined;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(unblock, (err: unknown) => {
          this.onError(err);
          unblock();
        });
      } else {
        unblock();
      }
      ranSync = false;
      if (!released) return; // waiting for the task or its unblock()
    }
    if (this.head === this.tasks.length) {
      this.tasks.length = 0;
      this.head = 0;
    }
  }
}
