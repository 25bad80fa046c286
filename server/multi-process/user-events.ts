/**
 * User-document change events that also reach the other processes: a change made here is told
 * to this process's listeners at once and published once; a change heard from another process
 * is told to the listeners here only, so it never travels back.
 */
import { UserEvents } from '../services/user-events.js';

export class RelayedUserEvents extends UserEvents {
  constructor(private readonly publish: (userId: string) => void) {
    super();
  }

  /** A change made in this process. */
  override changed(userId: string): void {
    super.changed(userId);
    this.publish(userId);
  }

  /** A change made in another process. */
  receive(userId: string): void {
    super.changed(userId);
  }
}
