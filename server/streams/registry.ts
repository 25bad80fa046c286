/**
 * `server.stream(name, options)`: declares the DDP publication and the DDP method named
 * `stream-<name>` that Rocket.Chat's clients use, with the permission rules, and relays events
 * to and from the other processes when there are several.
 *
 * - Subscribe: `sub {name:'stream-<name>', params:[eventName, options]}`, where `options` is
 *   `{useCollection:false, args:[...]}` (current clients) or a boolean (older ones). The `read`
 *   rule decides, per subscriber; refused → `nosub` with `not-allowed`. Then `ready`.
 * - Emit from a client: `method 'stream-<name>' [eventName, ...args]`; only when the `emit`
 *   rule allows (refused → `not-allowed`). Sent to the other subscribers, not back to the
 *   emitting connection (Rocket.Chat's `retransmitToSelf: false`).
 * - Emit from the server: `stream.emit(eventName, ...args)`.
 */
import { catalogueError, type DdpError } from '../../protocol/errors.js';
import type { ConnectionInfo } from '../calls/connection-info.js';
import type { MethodDefinitions, MethodThis } from '../calls/method-registry.js';
import type { PublicationOptions, PublishHandler, SubscriptionThis } from '../calls/publication-registry.js';
import { isEventName, MAX_EVENT_NAME_LENGTH, Stream, type StreamSink } from './stream.js';

/** Who asks, given to a rule as `this`. `connection` is null for the server's own calls. */
export interface StreamRuleContext {
  readonly userId: string | null;
  readonly connection: ConnectionInfo | null;
}

/**
 * A permission rule: Rocket.Chat's shortcuts (`'all'`, `'logged'`: logged-in users, `'none'`)
 * or a function that returns (or resolves to) exactly `true` to allow. For `read`, `args` are
 * the subscription's `options.args`; for `emit`, the event's arguments.
 */
export type StreamRule =
  | 'all'
  | 'logged'
  | 'none'
  | ((this: StreamRuleContext, userId: string | null, eventName: string, args: unknown[]) => boolean | Promise<boolean>);

/** Options of `server.stream(name, options)`. */
export interface StreamOptions {
  /** Who may subscribe to an event name. @default 'logged' */
  read?: StreamRule;
  /** Who may emit from a client with the method `stream-<name>`. @default 'none' */
  emit?: StreamRule;
  /** Send a client's emit back to the emitting connection too. @default false (Rocket.Chat's) */
  retransmitToSelf?: boolean;
}

/** What the registry needs from the server. */
export interface StreamHost {
  publish(name: string, handler: PublishHandler, options?: PublicationOptions): void;
  methods(definitions: MethodDefinitions): void;
  /** The session behind `connection` (the `this.connection` of a subscription), to write frames to. */
  sinkOf(connection: ConnectionInfo): StreamSink | null;
}

/** Sends events to the other processes (Redis); see `server/multi-process/`. */
export interface StreamRelay {
  publish(stream: string, eventName: string, args: unknown[]): void;
}

const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/;

function notAllowed(what: string): DdpError {
  return catalogueError('notAllowed', what);
}

function checkEventName(value: unknown): string {
  if (!isEventName(value)) throw catalogueError('invalidEventName', MAX_EVENT_NAME_LENGTH);
  return value;
}

/** `args` of the subscription's second parameter: `{args?: [...]}`, a boolean, or nothing. */
function subscriptionArgs(options: unknown): unknown[] {
  if (options === undefined || options === null || typeof options === 'boolean') return [];
  if (typeof options === 'object' && !Array.isArray(options)) {
    const args = (options as { args?: unknown }).args;
    if (args === undefined) return [];
    if (Array.isArray(args)) return args;
  }
  throw catalogueError('matchFailed');
}

async function allows(rule: StreamRule, context: StreamRuleContext, eventName: string, args: unknown[]): Promise<boolean> {
  switch (rule) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'logged':
      return context.userId !== null;
    default:
      return (await rule.call(context, context.userId, eventName, args)) === true;
  }
}

function checkRule(name: string, which: string, rule: unknown): void {
  if (rule === undefined || rule === 'all' || rule === 'logged' || rule === 'none' || typeof rule === 'function') return;
  throw new TypeError(`Stream '${name}': the ${which} rule must be 'all', 'logged', 'none' or a function, got ${JSON.stringify(rule)}`);
}

export class StreamRegistry {
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly host: StreamHost,
    private readonly relay: StreamRelay | null = null,
  ) {}

  /** Declares a stream: the publication and the method `stream-<name>`. A name used twice throws. */
  define(name: string, options: StreamOptions = {}): Stream {
    if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
      throw new TypeError(`A stream name is 1 to 100 letters, digits and _ . : / - (starting with a letter or digit), got ${JSON.stringify(name)}`);
    }
    if (this.streams.has(name)) throw new Error(`A stream named '${name}' is already defined`);
    checkRule(name, 'read', options.read);
    checkRule(name, 'emit', options.emit);
    const read = options.read ?? 'logged';
    const emit = options.emit ?? 'none';
    const relay = this.relay;
    const stream = new Stream(name, relay ? (eventName, args) => relay.publish(name, eventName, args) : () => {}, options.retransmitToSelf === true);
    const host = this.host;

    host.publish(stream.collection, async function (this: SubscriptionThis, eventName: unknown, options: unknown) {
      const event = checkEventName(eventName);
      const args = subscriptionArgs(options);
      const sink = host.sinkOf(this.connection);
      if (!sink) throw new Error(`no session for connection ${this.connection.id}`);
      if (!(await allows(read, { userId: this.userId, connection: this.connection }, event, args))) throw notAllowed(`read '${event}' events of ${stream.collection}`);
      // Stopped meanwhile (unsub, disconnect)? onStop then runs the removal at once.
      this.onStop(stream.listen(event, { connection: this.connection, sink }));
      this.ready();
    });

    host.methods({
      async [stream.collection](this: MethodThis, eventName: unknown, ...args: unknown[]) {
        const event = checkEventName(eventName);
        if (!(await allows(emit, { userId: this.userId, connection: this.connection }, event, args))) throw notAllowed(`emit '${event}' events on ${stream.collection}`);
        stream.deliver(event, args, this.connection);
        relay?.publish(name, event, args);
      },
    });

    this.streams.set(name, stream);
    return stream;
  }

  /** An event emitted in another process: deliver it to this process's subscribers. */
  receive(streamName: string, eventName: string, args: unknown[]): void {
    this.streams.get(streamName)?.deliver(eventName, args, null);
  }

  /** A declared stream, by name. */
  get(name: string): Stream | undefined {
    return this.streams.get(name);
  }

  /** Live stream subscriptions in this process, all streams together (for leak checks). */
  get listenerCount(): number {
    let n = 0;
    for (const stream of this.streams.values()) n += stream.listenerCount;
    return n;
  }
}
