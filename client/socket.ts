/**
 * The smallest interface over a WebSocket that the client needs. Browsers pass their global
 * `WebSocket`; Node passes `ws`'s default export (see `client/node.ts`). Nothing here is
 * Node-only.
 */

/**
 * A WebSocket-like object: the browser's `WebSocket` and `ws`'s `WebSocket` both fit.
 *
 * The handler properties take `never` because the client only ever assigns them, never calls
 * them: that lets both the DOM's and `ws`'s event types fit without casts.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `readyState` of an open socket, the same in the DOM and in `ws`. */
export const OPEN = 1;

/** What the client reacts to. A binary frame is reported as `onBinary`: DDP is text only. */
export interface SocketListeners {
  onOpen(): void;
  onText(text: string): void;
  onBinary(): void;
  onClose(code: number, reason: string): void;
  onError(message: string): void;
}

/** The fields of the events we read; both the DOM's and `ws`'s events have them. */
interface MessageEventLike { data: unknown }
interface CloseEventLike { code?: unknown; reason?: unknown }
interface ErrorEventLike { message?: unknown }

function noop(): void {}

/**
 * One socket, wired to listeners until {@link detach}. After `detach` every event is swallowed:
 * a late `close` or `error` of an abandoned socket must not disturb the next one. (Handlers are
 * set to no-ops rather than null because `ws` throws on an `error` event nobody listens to.)
 */
export class Socket {
  readonly #ws: WebSocketLike;

  constructor(WebSocketImpl: WebSocketConstructor, url: string, listeners: SocketListeners) {
    this.#ws = new WebSocketImpl(url);
    this.#ws.onopen = () => listeners.onOpen();
    this.#ws.onmessage = (event: MessageEventLike) => {
      if (typeof event.data === 'string') listeners.onText(event.data);
      else listeners.onBinary();
    };
    this.#ws.onclose = (event: CloseEventLike) => {
      listeners.onClose(typeof event.code === 'number' ? event.code : 1006, typeof event.reason === 'string' ? event.reason : '');
    };
    this.#ws.onerror = (event: ErrorEventLike) => {
      listeners.onError(typeof event.message === 'string' && event.message ? event.message : 'WebSocket error');
    };
  }

  /** True when a frame can be sent now. */
  get isOpen(): boolean {
    return this.#ws.readyState === OPEN;
  }

  /** Send one text frame. Returns false instead of throwing when the socket is not open. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    try {
      this.#ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Stop reporting events, then close. Safe to call in any state, more than once. */
  detachAndClose(code = 1000, reason = ''): void {
    this.#ws.onopen = noop;
    this.#ws.onmessage = noop;
    this.#ws.onclose = noop;
    this.#ws.onerror = noop;
    try {
      this.#ws.close(code, reason);
    } catch {
      // Closing a socket that is already closing is not an error for us.
    }
  }
}

/**
 * Accept the URLs Meteor's `DDP.connect` accepts: `http(s)://host[:port]` becomes
 * `ws(s)://host[:port]/websocket`; `ws(s)://` URLs are used as given.
 */
export function toWebSocketUrl(url: string): string {
  const match = /^(https?):\/\/([^/?#]+)(\/[^?#]*)?$/i.exec(url);
  if (!match) return url;
  const scheme = match[1]!.toLowerCase() === 'https' ? 'wss' : 'ws';
  const path = match[3] && match[3] !== '/' ? match[3] : '/websocket';
  return `${scheme}://${match[2]!}${path}`;
}
