/**
 * Clean refusal at the file-descriptor limit. When `accept()` fails with EMFILE, libuv closes a
 * reserved descriptor, accepts the waiting connections and closes them at once, and Node says
 * nothing: clients see their connection closed, the server logs nothing, and its other needs
 * (a store connection, a file) fail too. So the listener stops short of the limit instead: it
 * takes at most `limit − reserve − other descriptors` connections (`server.maxConnections`);
 * past that Node closes each new connection and emits `drop`, counted here, logged once per
 * burst, and reported by `atLimit()` (so `/readyz` says so) until connections close. Held
 * connections are not touched, and the reserve keeps descriptors for their work.
 *
 * The limit is the soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (Linux); elsewhere only
 * accept errors (EMFILE/ENFILE, if Node reports one) are counted and logged.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { errorFields, type Logger } from '../runtime/logger.js';

/** How often the descriptors not held by connections are counted again (while half full or more), ms. */
const RECOUNT_MS = 2000;

/** The soft limit on open files of this process, or null when it cannot be read (or is unlimited). */
export function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/** Descriptors kept free for the server's own work at a limit of `limit`. */
export function descriptorReserve(limit: number): number {
  return Math.min(256, Math.max(32, Math.floor(limit * 0.05)));
}

/** Open descriptors of this process, or null when they cannot be listed (or at the limit). */
function openDescriptorsSync(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

async function openDescriptors(): Promise<number | null> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return null;
  }
}

/** What the guard reports. */
export interface DescriptorState {
  /** The soft limit, or null when unknown. */
  limit: number | null;
  /** Connections this listener takes at most (null: no cap). */
  maxConnections: number | null;
  /** Connections open now. */
  connections: number;
  /** New connections are being refused. */
  atLimit: boolean;
  /** Connections refused at the limit since start. */
  refused: number;
}

export class DescriptorGuard {
  private connections = 0;
  private refused = 0;
  /** Refused in the current burst; a burst ends when a connection can be taken again. */
  private burst = 0;
  private acceptFailed = false;
  private timer: NodeJS.Timeout | null = null;
  private recounting = false;

  constructor(private readonly server: Server, private readonly logger: Logger, private readonly limit: number | null = openFilesLimit()) {
    server.on('connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => {
        this.connections--;
        this.maybeRecovered();
      });
    });
    server.on('drop', () => this.refuse());
    // Accept errors (EMFILE/ENFILE when the reserve is gone too) must not crash the process.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (!server.listening) return; // a listen error: `listen()` reports it
      if (err.code === 'EMFILE' || err.code === 'ENFILE') {
        this.acceptFailed = true;
        this.refuse();
        void this.recount();
        return;
      }
      logger.error({ ...errorFields(err) }, 'accepting a connection failed');
    });
  }

  /** Sets the cap from the descriptors open now; call once listening. Recounts them while busy. */
  start(): void {
    if (this.limit === null) return;
    const open = openDescriptorsSync();
    if (open !== null) this.applyCap(open);
    this.timer = setInterval(() => {
      const cap = this.server.maxConnections;
      if (this.acceptFailed || (Number.isFinite(cap) && this.connections * 2 >= cap)) void this.recount();
    }, RECOUNT_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  state(): DescriptorState {
    const cap = this.server.maxConnections;
    const maxConnections = Number.isFinite(cap) ? cap : null;
    return { limit: this.limit, maxConnections, connections: this.connections, atLimit: this.atLimit(), refused: this.refused };
  }

  /** New connections are being refused: the cap is reached, or accept failed since the last count. */
  atLimit(): boolean {
    const cap = this.server.maxConnections;
    return this.acceptFailed || (Number.isFinite(cap) && this.connections >= cap);
  }

  private applyCap(open: number): void {
    if (this.limit === null) return;
    const other = Math.max(0, open - this.connections);
    this.server.maxConnections = Math.max(0, this.limit - descriptorReserve(this.limit) - other);
  }

  private async recount(): Promise<void> {
    if (this.recounting) return;
    this.recounting = true;
    try {
      const open = await openDescriptors();
      if (open === null) return; // no descriptor left even to list them: still at the limit
      this.applyCap(open);
      this.acceptFailed = false;
      this.maybeRecovered();
    } finally {
      this.recounting = false;
    }
  }

  private refuse(): void {
    this.refused++;
    if (this.burst++ > 0) return;
    const { limit, maxConnections, connections } = this.state();
    this.logger.warn({ event: 'descriptor-limit', limit, maxConnections, connections },
      'at the open-file limit: refusing new connections (held ones are kept); raise `ulimit -n` or add processes');
  }

  private maybeRecovered(): void {
    if (this.burst === 0 || this.atLimit()) return;
    this.logger.info({ event: 'descriptor-limit', refused: this.burst, connections: this.connections }, `accepting connections again (${this.burst} refused at the limit)`);
    this.burst = 0;
  }
}
