/**
 * Protocol constants shared by the server and the client.
 * Pure: this folder imports neither `ws` nor `server/` nor `client/`.
 */

/** DDP versions in order of preference, as Meteor's `DDPCommon.SUPPORTED_DDP_VERSIONS`. */
export const SUPPORTED_DDP_VERSIONS: readonly string[] = Object.freeze(['1', 'pre2', 'pre1']);

/**
 * The version a server speaks with a client: the first version in the client's own list of
 * preferences that the server supports, else the server's preferred one (Meteor's
 * `calculateVersion`).
 */
export function negotiateVersion(clientSupport: readonly string[], serverSupport: readonly string[] = SUPPORTED_DDP_VERSIONS): string {
  for (const version of clientSupport) {
    if (serverSupport.includes(version)) return version;
  }
  return serverSupport[0] ?? '1';
}

/** Versions with server-initiated heartbeats (`pre1` has none). */
export function versionHasHeartbeat(version: string): boolean {
  return version !== 'pre1';
}

/**
 * WebSocket close codes used by ddp-guard. 1000–1015 are RFC 6455's; 4000–4999 are ours.
 * The table of close codes in docs/wire-protocol.md is checked against this object by a test.
 */
export const CLOSE_CODES = Object.freeze({
  /** Normal close: the client sent `disconnect`, or version negotiation failed. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A WebSocket protocol error, or broken SockJS framing (not a JSON array of strings). */
  protocolError: 1002,
  /** A binary frame: DDP is text only. */
  unsupportedData: 1003,
  /** A text frame that is not valid UTF-8. */
  invalidPayload: 1007,
  /** A frame larger than `maxFrameBytes`. */
  messageTooBig: 1009,
  /** Too many connections from one client address. */
  tryAgainLater: 1013,
  /** No `connect` message within `handshakeTimeoutMs`. */
  handshakeTimeout: 4000,
  /** No sign of life within `heartbeatTimeoutMs` after a server ping. */
  heartbeatTimeout: 4001,
  /** The client does not read: buffered output passed `maxBufferedBytes`. */
  slowConsumer: 4002,
});

export type CloseCodeName = keyof typeof CLOSE_CODES;

/** Keys rejected anywhere in decoded input: they would pollute prototypes in careless code. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
