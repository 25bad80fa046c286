/**
 * The client side of DDP's heartbeat: ping a server that has been quiet, and declare the
 * connection dead when the ping gets no answer. Runs on one timer and a timestamp rather than
 * re-arming a timer for every frame received.
 */

type Timer = ReturnType<typeof setTimeout>;

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /** Quiet time before we ping (ms). */
  intervalMs: number;
  /** Time allowed for any frame to arrive after our ping (ms). */
  timeoutMs: number;
}

/** One heartbeat per socket: create it after the handshake, stop it when the socket goes. */
export class Heartbeat {
  readonly #options: HeartbeatOptions;
  readonly #sendPing: () => void;
  readonly #onDead: () => void;
  #timer: Timer | undefined;
  /** When the last frame arrived (ms since epoch): any frame proves the server alive. */
  #lastReceived = Date.now();
  /** When our unanswered ping went out, if one is out. */
  #pingSentAt: number | undefined;

  constructor(options: HeartbeatOptions, sendPing: () => void, onDead: () => void) {
    this.#options = options;
    this.#sendPing = sendPing;
    this.#onDead = onDead;
    this.#schedule(options.intervalMs);
  }

  /** A frame arrived. */
  received(): void {
    this.#lastReceived = Date.now();
  }

  /** Stop for good. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#pingSentAt !== undefined) {
      if (this.#lastReceived < this.#pingSentAt) {
        this.#onDead();
        return;
      }
      this.#pingSentAt = undefined;
    }
    const idle = Date.now() - this.#lastReceived;
    if (idle < this.#options.intervalMs) {
      this.#schedule(this.#options.intervalMs - idle);
      return;
    }
    this.#pingSentAt = Date.now();
    this.#sendPing();
    this.#schedule(this.#options.timeoutMs);
  }
}
