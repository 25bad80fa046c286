/**
 * The raw DDP socket of `ddp-guard script`: text frames out as written, every frame in kept in
 * a backlog, `ping` answered with `pong`. Deliberately not the ddp-guard client: a transcript
 * must behave the same against any DDP server, so nothing here knows DDP beyond `ping`.
 *
 * This is a client, the one place in `server/` besides the transport that uses `ws`: it lives
 * under `cli/` only because the `ddp-guard` binary ships both (see
 * test/architecture/layers.test.ts).
 * @module
 */
import WebSocket from 'ws';

/** Messages kept for later expectations; older ones are dropped beyond this (a flood must not eat memory). */
export const MAX_BACKLOG = 1000;

/** How the socket ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

interface Waiter {
  accept: (message: unknown) => boolean;
  resolve: (message: unknown) => void;
}

/** An open connection to a DDP server. */
export class TranscriptSocket {
  readonly #ws: WebSocket;
  /** Received messages no expectation has taken yet, oldest first. */
  readonly #backlog: unknown[] = [];
  /** The last messages received, matched or not, for failure reports. */
  readonly #recent: unknown[] = [];
  #waiter: Waiter | undefined;
  #closed: CloseInfo | undefined;
  readonly #closeListeners: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data, isBinary) => this.#receive(isBinary ? `<binary frame of ${bytes(data)} bytes>` : String(data)));
    ws.on('close', (code, reason) => {
      this.#closed = { code, reason: String(reason) };
      for (const listener of this.#closeListeners.splice(0)) listener();
    });
    // Errors after the open are followed by a close; the close is what the runner reports.
    ws.on('error', () => {});
  }

  /**
   * Opens a socket to `url`.
   * @throws Error with the reason when it does not open within `timeoutMs`.
   */
  static open(url: string, timeoutMs: number): Promise<TranscriptSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
      const fail = (reason: string): void => {
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(new Error(reason));
      };
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new TranscriptSocket(ws));
      });
      ws.once('error', (err) => fail(err.message || (err as NodeJS.ErrnoException).code || 'socket error'));
      ws.once('unexpected-response', (_req, res) => fail(`the server answered HTTP ${res.statusCode} instead of upgrading to a WebSocket`));
    });
  }

  /** How the socket closed, or undefined while it is open. */
  get closed(): CloseInfo | undefined {
    return this.#closed;
  }

  /** Sends one text frame. @throws Error when the socket is closed. */
  send(text: string): void {
    if (this.#ws.readyState !== WebSocket.OPEN) throw new Error(this.#closedText());
    this.#ws.send(text);
  }

  /**
   * The oldest backlog message `accept` takes, else the first new one, removed from the
   * backlog; null after `timeoutMs` or once the socket is closed.
   */
  take(accept: (message: unknown) => boolean, timeoutMs: number): Promise<unknown | null> {
    const index = this.#backlog.findIndex(accept);
    if (index >= 0) return Promise.resolve(this.#backlog.splice(index, 1)[0]);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (message: unknown | null): void => {
        clearTimeout(timer);
        this.#waiter = undefined;
        const at = this.#closeListeners.indexOf(onClose);
        if (at >= 0) this.#closeListeners.splice(at, 1);
        resolve(message);
      };
      const onClose = (): void => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      this.#closeListeners.push(onClose);
      this.#waiter = { accept, resolve: done };
    });
  }

  /** The last `n` messages received, oldest first. */
  recent(n: number): unknown[] {
    return this.#recent.slice(-n);
  }

  /** Closes the socket (normal closure). */
  close(): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
    // A server that never answers the close must not keep the process alive.
    setTimeout(() => this.#ws.terminate(), 1000).unref();
  }

  /** Describes why sending is impossible. */
  #closedText(): string {
    const c = this.#closed;
    return c ? `the connection is closed (code ${c.code}${c.reason ? `, ${c.reason}` : ''})` : 'the connection is not open';
  }

  #receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = text; // Not JSON: kept as the string, so a pattern string can still match it.
    }
    if (isPing(message)) {
      const pong = message.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: message.id };
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(pong));
    }
    this.#recent.push(message);
    if (this.#recent.length > 10) this.#recent.shift();
    const waiter = this.#waiter;
    if (waiter?.accept(message)) {
      waiter.resolve(message);
      return;
    }
    this.#backlog.push(message);
    if (this.#backlog.length > MAX_BACKLOG) this.#backlog.shift();
  }
}

function isPing(message: unknown): message is { msg: 'ping'; id?: unknown } {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>).msg === 'ping';
}

function bytes(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}
