/**
 * What a session needs from a socket. The WebSocket and SockJS transports implement it; the
 * session never sees `ws`.
 */
export interface DdpSocket {
  /** Send DDP message texts, in order. Several at once may share one write. */
  send(frames: readonly string[]): void;
  /** False once closing has begun: nothing sent from then on arrives, so callers can skip the work. */
  readonly open: boolean;
  /** Close with a code from `CLOSE_CODES` and a short reason. Idempotent. */
  close(code: number, reason: string): void;
  /** The client's address: the socket's, or from `X-Forwarded-For` with a trusted proxy count. */
  readonly clientAddress: string;
  /**
   * The safe subset of the upgrade request's headers (`SAFE_HEADERS`), copied at accept time:
   * the request itself is not kept, which matters with thousands of idle connections.
   */
  readonly httpHeaders: Readonly<Record<string, string>>;
}

/** What a transport calls on the session that owns a socket. */
export interface SocketHandler {
  /** One text frame (one DDP message) arrived. */
  receive(text: string): void;
  /** The socket closed, for whatever reason; called once. */
  closed(code: number): void;
}
