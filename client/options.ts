/**
 * The client's options: one frozen defaults object, documented where declared, and one
 * normalizer that checks every value when the client is created rather than at first use.
 */
import type { TwoFactorHandler } from './two-factor.js';
import type { WebSocketConstructor } from './socket.js';

/** Options of `new DdpClient(url, options)`. Every field is optional except where a browser has no global `WebSocket`. */
export interface DdpClientOptions {
  /** The WebSocket constructor. Defaults to the global `WebSocket` (browsers, Node ≥ 22). In Node 20 use `client/node.ts`, which passes `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Give up on a connection attempt that has not received `connected` after this long (ms). @default 10000 */
  connectTimeoutMs?: number;
  /** Send a `ping` after this long without any message from the server (ms); 0 turns client pings off. @default 17500 (Meteor's client) */
  heartbeatIntervalMs?: number;
  /** After our `ping`, treat the connection as dead if nothing arrives within this long (ms). @default 15000 */
  heartbeatTimeoutMs?: number;
  /** Reconnect automatically after a connection is lost. @default true */
  reconnect?: boolean;
  /** Keep retrying (with backoff) when the very first connection attempt fails, instead of rejecting `connect()`. @default false */
  retryFirstConnect?: boolean;
  /** Delay before the first reconnect attempt (ms). @default 1000 */
  minDelayMs?: number;
  /** Upper bound of the reconnect delay (ms). @default 300000 (5 minutes) */
  maxDelayMs?: number;
  /** Growth of the reconnect delay per failed attempt. @default 2.2 (Meteor's) */
  backoffFactor?: number;
  /** Random spread of each reconnect delay: 0.5 means ×0.75 to ×1.25. @default 0.5 */
  backoffJitter?: number;
  /** Random source for the jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Default timeout of a method call, from the moment it is made, queue time included (ms); 0 means none. @default 30000 */
  callTimeoutMs?: number;
  /** How many calls may wait for the connection; beyond it a call is rejected at once with `queue-full`. @default 100 */
  maxQueuedCalls?: number;
  /** Asked for a code when a call fails with `totp-required`/`totp-invalid`. Without it such errors reach the caller. */
  onTwoFactorRequired?: TwoFactorHandler;
  /** How many codes to try for one call before giving up with the last error. @default 3 */
  maxTwoFactorAttempts?: number;
}

/** The options after defaults are applied and checked. */
export type ResolvedClientOptions = Required<Omit<DdpClientOptions, 'onTwoFactorRequired' | 'WebSocket'>> & {
  WebSocket: WebSocketConstructor;
  onTwoFactorRequired: TwoFactorHandler | undefined;
};

/** Every default in one place. */
export const CLIENT_DEFAULTS = Object.freeze({
  connectTimeoutMs: 10_000,
  heartbeatIntervalMs: 17_500,
  heartbeatTimeoutMs: 15_000,
  reconnect: true,
  retryFirstConnect: false,
  minDelayMs: 1_000,
  maxDelayMs: 300_000,
  backoffFactor: 2.2,
  backoffJitter: 0.5,
  callTimeoutMs: 30_000,
  maxQueuedCalls: 100,
  maxTwoFactorAttempts: 3,
});

function checkNumber(name: string, value: number, min: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new TypeError(`DdpClient option ${name} must be ${integer ? 'an integer' : 'a finite number'} ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function globalWebSocket(): WebSocketConstructor | undefined {
  const candidate: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as WebSocketConstructor) : undefined;
}

/** Apply defaults and check every option. Throws a `TypeError` naming the bad option. */
export function normalizeClientOptions(options: DdpClientOptions = {}): ResolvedClientOptions {
  const WebSocketImpl = options.WebSocket ?? globalWebSocket();
  if (!WebSocketImpl) {
    throw new TypeError('DdpClient needs a WebSocket constructor: pass options.WebSocket (in Node 20, use connectNode from client/node.js)');
  }
  const d = CLIENT_DEFAULTS;
  const resolved: ResolvedClientOptions = {
    WebSocket: WebSocketImpl,
    connectTimeoutMs: checkNumber('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1),
    heartbeatIntervalMs: checkNumber('heartbeatIntervalMs', options.heartbeatIntervalMs ?? d.heartbeatIntervalMs, 0),
    heartbeatTimeoutMs: checkNumber('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? d.heartbeatTimeoutMs, 1),
    reconnect: options.reconnect ?? d.reconnect,
    retryFirstConnect: options.retryFirstConnect ?? d.retryFirstConnect,
    minDelayMs: checkNumber('minDelayMs', options.minDelayMs ?? d.minDelayMs, 0),
    maxDelayMs: checkNumber('maxDelayMs', options.maxDelayMs ?? d.maxDelayMs, 0),
    backoffFactor: checkNumber('backoffFactor', options.backoffFactor ?? d.backoffFactor, 1),
    backoffJitter: checkNumber('backoffJitter', options.backoffJitter ?? d.backoffJitter, 0),
    random: options.random ?? Math.random,
    callTimeoutMs: checkNumber('callTimeoutMs', options.callTimeoutMs ?? d.callTimeoutMs, 0),
    maxQueuedCalls: checkNumber('maxQueuedCalls', options.maxQueuedCalls ?? d.maxQueuedCalls, 0, true),
    onTwoFactorRequired: options.onTwoFactorRequired,
    maxTwoFactorAttempts: checkNumber('maxTwoFactorAttempts', options.maxTwoFactorAttempts ?? d.maxTwoFactorAttempts, 0, true),
  };
  if (resolved.maxDelayMs < resolved.minDelayMs) {
    throw new TypeError(`DdpClient option maxDelayMs (${resolved.maxDelayMs}) must be ≥ minDelayMs (${resolved.minDelayMs})`);
  }
  if (resolved.backoffJitter > 1) throw new TypeError('DdpClient option backoffJitter must be ≤ 1');
  if (typeof resolved.random !== 'function') throw new TypeError('DdpClient option random must be a function');
  return resolved;
}
