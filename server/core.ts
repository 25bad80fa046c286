/**
 * The parts of a server that sessions share: options, logger, registries, pipeline, dispatcher,
 * and the bookkeeping of live sessions.
 */
import type { ResolvedOptions } from './options.js';
import type { Logger } from './logger.js';
import type { Clock } from './clock.js';
import type { Dispatcher } from './dispatcher.js';
import type { Pipeline } from './pipeline.js';
import type { PublicationRegistry } from './publications/registry.js';
import type { Session } from './session.js';

export interface ServerCore {
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
  sessionStarted(session: Session): void;
  /** A session's socket closed; `wasConnected` when it had finished its handshake. */
  socketClosed(session: Session, wasConnected: boolean): void;
}
