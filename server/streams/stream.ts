/**
 * One stream of Rocket.Chat's Realtime API (its `Meteor.Streamer`): named events pushed to the
 * connections that subscribed to `stream-<name>` with that event name. Each event goes out as
 * `{msg:'changed', collection:'stream-<name>', id:'id', fields:{eventName, args}}`.
 *
 * Why outside the merge box: a stream has no documents. Rocket.Chat sends every event as a
 * `changed` of the made-up document `id` that the client was never sent `added` for, and its
 * clients (`@rocket.chat/ddp-client`, the Realtime API bots, the mobile apps) listen for exactly
 * that frame. The merge box exists to never send such a frame, and to merge documents, which
 * would turn two events with the same `args` into one (or none). So a stream writes its frames
 * straight to the session (`Session.sendStreamEvent`), like Rocket.Chat writes to
 * `_session.socket`, and keeps nothing per event: memory does not grow with traffic.
 */
import type { ConnectionInfo } from '../calls/connection-info.js';

/** Where a stream writes one subscriber's events: the session. */
export interface StreamSink {
  sendStreamEvent(collection: string, fields: Record<string, unknown>): void;
}

/** One subscription of one connection to one event name. */
export interface StreamListener {
  readonly connection: ConnectionInfo;
  readonly sink: StreamSink;
}

/** Longest event name accepted, in characters (Rocket.Chat's are a room or user id and a suffix). */
export const MAX_EVENT_NAME_LENGTH = 256;

/** Checks an event name given by the server's own code; a client's is checked with a DdpError. */
export function isEventName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_EVENT_NAME_LENGTH;
}

/** A stream, as returned by `server.stream(name)`. */
export class Stream {
  /** The subscription, the method and the collection of the frames: `stream-<name>`. */
  readonly collection: string;
  private readonly byEvent = new Map<string, Set<StreamListener>>();
  private listeners = 0;

  /** @internal Made by `server.stream()`; `broadcast` sends an event to the other processes. */
  constructor(
    readonly name: string,
    private readonly broadcast: (eventName: string, args: unknown[]) => void,
    private readonly retransmitToSelf: boolean,
  ) {
    this.collection = `stream-${name}`;
  }

  /**
   * Sends `eventName` with `args` to every subscriber of that event name, in this process at
   * once and, with Redis, in every other process. `args` must be EJSON values.
   */
  emit(eventName: string, ...args: unknown[]): void {
    if (!isEventName(eventName)) throw new TypeError(`Stream '${this.name}': an event name is a string of 1 to ${MAX_EVENT_NAME_LENGTH} characters, got ${JSON.stringify(eventName)}`);
    this.deliver(eventName, args, null);
    this.broadcast(eventName, args);
  }

  /**
   * Sends an event to this process's subscribers only; `origin` (a client's emit) is skipped
   * unless the stream retransmits to itself. Returns how many subscribers were sent it.
   * @internal
   */
  deliver(eventName: string, args: unknown[], origin: ConnectionInfo | null): number {
    const set = this.byEvent.get(eventName);
    if (!set) return 0;
    const fields = { eventName, args };
    let sent = 0;
    // A copy: sending may end a subscription (a slow reader is closed) while we iterate.
    for (const listener of [...set]) {
      if (origin !== null && listener.connection === origin && !this.retransmitToSelf) continue;
      listener.sink.sendStreamEvent(this.collection, fields);
      sent++;
    }
    return sent;
  }

  /** Adds a subscriber; returns the function that removes it. @internal */
  listen(eventName: string, listener: StreamListener): () => void {
    let set = this.byEvent.get(eventName);
    if (!set) this.byEvent.set(eventName, (set = new Set()));
    set.add(listener);
    this.listeners++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners--;
      set.delete(listener);
      if (set.size === 0 && this.byEvent.get(eventName) === set) this.byEvent.delete(eventName);
    };
  }

  /** Live subscriptions in this process, for all event names (for leak checks and metrics). */
  get listenerCount(): number {
    return this.listeners;
  }

  /** Event names with at least one subscriber in this process. */
  get eventNameCount(): number {
    return this.byEvent.size;
  }
}
