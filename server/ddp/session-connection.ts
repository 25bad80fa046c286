/**
 * `this.connection` of a session's methods and publications. A small class (methods on the
 * prototype, no closures), because every idle connection holds one.
 */
import { CLOSE_CODES } from '../../protocol/constants.js';
import type { ConnectionInfo } from '../calls/connection-info.js';

/** What the connection object reads from its session. */
export interface ConnectionOwner {
  readonly id: string;
  readonly isClosed: boolean;
  addCloseCallback(fn: () => void): void;
  close(code: number, reason: string): void;
}

export class SessionConnection implements ConnectionInfo {
  /** A JS private field: methods get this object as `this.connection` and must not reach the session. */
  readonly #owner: ConnectionOwner;

  constructor(
    owner: ConnectionOwner,
    readonly clientAddress: string,
    readonly httpHeaders: Readonly<Record<string, string>>,
  ) {
    this.#owner = owner;
  }

  /** The session behind a connection object, for the server's own modules; null for any other object. */
  static ownerOf(connection: ConnectionInfo): ConnectionOwner | null {
    return connection instanceof SessionConnection ? connection.#owner : null;
  }

  get id(): string {
    return this.#owner.id;
  }

  onClose(fn: () => void): void {
    if (this.#owner.isClosed) fn();
    else this.#owner.addCloseCallback(fn);
  }

  close(): void {
    this.#owner.close(CLOSE_CODES.normal, 'Closed by the server');
  }
}
