/**
 * What a session needs from the server that hosts it: options, logger, registries, pipeline,
 * dispatcher, and the bookkeeping of live sessions. Sessions see the server only through this
 * interface, and the interface names no session type (`S` is the host's own), so the session
 * and the server do not import each other.
 */
import type { ResolvedOptions } from '../services/options.js';
import type { Logger } from '../runtime/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Dispatcher } from '../calls/dispatcher.js';
import type { Pipeline } from '../calls/pipeline.js';
import type { PublicationRegistry } from '../calls/publication-registry.js';

export interface ServerCore<S> {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly pipeline: Pipeline;
  readonly publications: PublicationRegistry;
  /** Messages received and sent by every session (read by the metrics). */
  readonly traffic: { messagesIn: number; messagesOut: number };
  isShuttingDown(): boolean;
  /** A session finished its handshake. */
  sessionStarted(session: S): void;
  /** A session's socket closed; `wasConnected` when it had finished its handshake. */
  socketClosed(session: S, wasConnected: boolean): void;
}
