/**
 * Every option of ddp-guard with its default, in one frozen object, validated when the server is
 * created (not at first use). The README's options table is checked against `DEFAULTS` by a test.
 */
import type { Logger } from './logger.js';
import type { Clock } from './clock.js';

const MiB = 1024 * 1024;

/** The defaults. Each field is documented with its unit. */
export const DEFAULTS = Object.freeze({
  /** TCP port; 0 picks a free one. @default 3000 */
  port: 3000,
  /** Interface to bind. @default '127.0.0.1' */
  host: '127.0.0.1',
  /** Largest accepted WebSocket frame, in bytes; larger closes with 1009. @default 1 MiB */
  maxFrameBytes: 1 * MiB,
  /** Output buffered for a client that does not read, in bytes, before it is closed with 4002. @default 4 MiB */
  maxBufferedBytes: 4 * MiB,
  /** A socket that sends no `connect` within this time is closed with 4000. @default 45 s */
  handshakeTimeoutMs: 45_000,
  /** Idle time before the server pings a client. @default 15 s (Meteor's) */
  heartbeatIntervalMs: 15_000,
  /** Silence after a server ping before the socket is closed with 4001. @default 15 s (Meteor's) */
  heartbeatTimeoutMs: 15_000,
  /** Methods queued or running on one connection; more get `too-many-methods`. @default 100 */
  maxMethodsInFlight: 100,
  /** Live subscriptions on one connection; more get `too-many-subscriptions`. @default 500 */
  maxSubscriptions: 500,
  /** Open connections from one client address; more are closed with 1013. 0 = no limit. @default 0 */
  maxConnectionsPerAddress: 0,
  /** permessage-deflate (Meteor 3.1's settings when on: 1 KiB threshold, fastest level, no context takeover). @default false */
  perMessageDeflate: false,
  /** Proxies in front of the server whose `X-Forwarded-For` entries are trusted (Meteor's `HTTP_FORWARDED_COUNT`). @default 0 */
  httpForwardedCount: 0,
  /** Browser origins allowed to connect; `null` allows every origin (and clients without one). @default null */
  allowedOrigins: null as readonly string[] | null,
  /** Serve SockJS's WebSocket transport for Meteor browser clients. @default true */
  sockjs: true,
  /** Longest a graceful `close()` waits for in-flight methods before closing sockets with 1001. @default 10 s */
  shutdownTimeoutMs: 10_000,
  /** Largest HTTP request body, in bytes. @default 1 MiB */
  maxBodyBytes: 1 * MiB,
});

export type Defaults = typeof DEFAULTS;

/** Options accepted by `createServer`; every field is optional. */
export interface ServerOptions extends Partial<Omit<Defaults, 'allowedOrigins'>> {
  allowedOrigins?: readonly string[] | null;
  /** Where log lines go. @default JSON lines on stderr at level `info` */
  logger?: Logger;
  /** The time source (tests inject one). @default the system clock */
  clock?: Clock;
}

/** Options after defaults and validation. */
export interface ResolvedOptions extends Omit<Defaults, 'allowedOrigins'> {
  allowedOrigins: readonly string[] | null;
}

/** A bad option value: the message names the option, the value and what is expected. */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(readonly option: string, message: string) {
    super(`option '${option}': ${message}`);
  }
}

type Check = (name: string, value: unknown) => void;

const integer = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (name, value) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
};
const boolean: Check = (name, value) => {
  if (typeof value !== 'boolean') throw new OptionError(name, `expected true or false, got ${JSON.stringify(value)}`);
};
const nonEmptyString: Check = (name, value) => {
  if (typeof value !== 'string' || value === '') throw new OptionError(name, `expected a non-empty string, got ${JSON.stringify(value)}`);
};

const CHECKS: { [K in keyof Defaults]: Check } = {
  port: integer(0, 65535),
  host: nonEmptyString,
  maxFrameBytes: integer(64),
  maxBufferedBytes: integer(1024),
  handshakeTimeoutMs: integer(1),
  heartbeatIntervalMs: integer(0),
  heartbeatTimeoutMs: integer(1),
  maxMethodsInFlight: integer(1),
  maxSubscriptions: integer(1),
  maxConnectionsPerAddress: integer(0),
  perMessageDeflate: boolean,
  httpForwardedCount: integer(0, 100),
  allowedOrigins: (name, value) => {
    if (value === null) return;
    if (!Array.isArray(value) || !value.every((o) => typeof o === 'string' && o !== '')) {
      throw new OptionError(name, 'expected null or a list of origins such as "https://chat.example.com"');
    }
  },
  sockjs: boolean,
  shutdownTimeoutMs: integer(0),
  maxBodyBytes: integer(1),
};

/** Apply defaults and validate; throws {@link OptionError} naming the first bad option. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const known = new Set<string>([...Object.keys(DEFAULTS), 'logger', 'clock']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OptionError(key, `unknown option (known: ${[...known].sort().join(', ')})`);
  }
  const resolved: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof Defaults)[]) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    CHECKS[key](key, value);
    resolved[key] = value;
  }
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}
