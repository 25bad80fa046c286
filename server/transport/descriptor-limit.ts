/**
 * Clean refusal at the open-file (descriptor) limit. When `accept()` fails with EMFILE, libuv
 * closes a spare descriptor, accepts the waiting connections and closes them at once, and Node
 * says nothing: clients see their connection closed, nothing is logged, and the server's other
 * needs (a store connection, a bcrypt worker, a log file) fail too. So the listener stops short
 * of the limit instead: it takes at most `limit − reserve − other open descriptors` connections
 * (`server.maxConnections`). Past that Node closes each new connection before reading from it
 * (a TCP close: there is no socket yet to write an HTTP answer on) and emits `drop`, which is
 * counted here, logged once per burst and reported by `atLimit()` (so `/readyz` says so) until
 * connections close. Held connections are not touched; the reserve keeps descriptors for them.
 *
 * The limit is the soft `RLIMIT_NOFILE` from `/proc/self/limits` (Linux; Node raises the soft
 * limit to the hard one at start-up, so this reads the limit that applies). Elsewhere there is
 * no cap and only accept errors (EMFILE/ENFILE, when Node reports one) are counted and logged.
 * The descriptors not held by connections are counted (`/proc/self/fd`) once at start, on the
 * first refusal of a burst, and every few seconds while the listener is half full or more —
 * never per connection.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { errorFields, type Logger } from '../runtime/logger.js';

/** How often the other descriptors are counted again while the listener is half full or more, ms. */
const RECOUNT_MS = 5000;
/**
 * A recount moves the cap only when it changed by more than this: a refused connection's
 * descriptor is closed a moment after `drop`, and a closed socket's a moment before its
 * `close` event, so a count taken in between is off by those few.
 */
const CAP_SLACK = 2;

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

/** What the server may still open besides connections, beyond what is open when it starts. */
export interface DescriptorNeeds {
  /** bcrypt worker threads (spawned on first use; about 4 descriptors each). */
  passwordWorkers: number;
  /** PostgreSQL pool connections (the pool grows on demand); 0 for SQLite or memory. */
  databaseConnections: number;
  /** A Redis link is configured (a command and a subscriber connection, reconnects). */
  redis: boolean;
}

/** Descriptors per bcrypt worker thread (its event loop); measured on Node 20 / Linux. */
export const DESCRIPTORS_PER_WORKER = 4;
/**
 * Kept free for everything else that opens a descriptor while serving: SQLite journal files,
 * outbox `.eml` files, SMTP sockets, DNS look-ups, the metrics listener and its probes, the
 * listing of `/proc/self/fd` itself.
 */
export const BASE_RESERVE = 48;

/** Descriptors kept free for the server's own work at a limit of `limit`. */
export function descriptorReserve(limit: number, needs: DescriptorNeeds): number {
  const known = BASE_RESERVE + DESCRIPTORS_PER_WORKER * needs.passwordWorkers + needs.databaseConnections + (needs.redis ? 4 : 0);
  // Large limits keep 2 % more for what the list above does not know (an application's own files).
  return known + Math.floor(limit * 0.02);
}

const FD_DIR = '/proc/self/fd';

/**
 * Open descriptors of this process, or null when they cannot be counted. Linux 6.2 and later
 * report the count as the size of `/proc/self/fd` (one `stat`); older kernels report 0 there,
 * and then the directory is listed. Listing it made an array of one string per descriptor —
 * 17 000 of them every few seconds in a process holding 17 000 connections, all garbage.
 */
export function openDescriptorsSync(): number | null {
  try {
    return statSync(FD_DIR).size || readdirSync(FD_DIR).length;
  } catch {
    return null;
  }
}

async function openDescriptors(): Promise<number | null> {
  try {
    return (await stat(FD_DIR)).size || (await readdir(FD_DIR)).length;
  } catch {
    return null;
  }
}

/** What the guard reports. */
export interface DescriptorState {
  /** The soft limit, or null when unknown. */
  limit: number | null;
  /** Descriptors kept free for the server's own work (0 when the limit is unknown). */
  reserve: number;
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
  private readonly reserve: number;

  constructor(
    private readonly server: Server,
    private readonly logger: Logger,
    needs: DescriptorNeeds,
    private readonly limit: number | null = openFilesLimit(),
  ) {
    this.reserve = limit === null ? 0 : descriptorReserve(limit, needs);
    server.on('connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => {
        this.connections--;
        this.maybeRecovered();
      });
    });
    server.on('drop', () => this.refuse());
    // Accept errors (EMFILE/ENFILE once the reserve is gone too) must not crash the process.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (!server.listening) return; // a listen error: `listen()` reports it
      if (err.code === 'EMFILE' || err.code === 'ENFILE') {
        this.acceptFailed = true;
        this.refuse();
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
    const { limit, reserve, maxConnections } = this.state();
    const line = { event: 'descriptor-limit', limit, reserve, open, maxConnections };
    if (maxConnections !== null && maxConnections < 100) this.logger.warn(line, `the open-file limit (${limit}) leaves room for only ${maxConnections} connections: raise \`ulimit -n\``);
    else this.logger.debug(line, 'open-file limit');
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
    return { limit: this.limit, reserve: this.reserve, maxConnections, connections: this.connections, atLimit: this.atLimit(), refused: this.refused };
  }

  /** New connections are being refused: the cap is reached, or accept failed since the last count. */
  atLimit(): boolean {
    const cap = this.server.maxConnections;
    return this.acceptFailed || (Number.isFinite(cap) && this.connections >= cap);
  }

  private applyCap(open: number): void {
    if (this.limit === null) return;
    const other = Math.max(0, open - this.connections);
    // At least 1: Node reads a cap of 0 as "no cap".
    const cap = Math.max(1, this.limit - this.reserve - other);
    const current = this.server.maxConnections;
    if (!Number.isFinite(current) || Math.abs(cap - current) > CAP_SLACK) this.server.maxConnections = cap;
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
    // The other descriptors may have changed since the last count (a pool shrank, a file closed).
    // On the next turn of the loop, once the refused connection's descriptor is closed.
    setTimeout(() => void this.recount(), 0).unref();
  }

  private maybeRecovered(): void {
    if (this.burst === 0 || this.atLimit()) return;
    this.logger.info({ event: 'descriptor-limit', refused: this.burst, connections: this.connections }, `accepting connections again (${this.burst} refused at the limit)`);
    this.burst = 0;
  }
}
