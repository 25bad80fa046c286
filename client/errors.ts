/**
 * Errors the client makes itself (never sent by a server). They are {@link DdpError}s, so an
 * application handles them exactly like server errors: switch on `error`.
 */
import { DdpError } from '../protocol/index.js';

/** The client's error catalogue: stable codes, default reasons, one-line meanings. */
export const CLIENT_ERRORS = Object.freeze({
  connectionLost: { error: 'connection-lost', reason: 'Connection lost before the server answered', meaning: 'The socket dropped while the call was in flight, and the call was made with `retryable: false` (or no socket was there for a call that must go at once).' },
  timeout: { error: 'timeout', reason: 'No answer from the server in time', meaning: 'The call took longer than its `timeoutMs`.' },
  queueFull: { error: 'queue-full', reason: 'Too many calls waiting for the connection', meaning: 'The client is disconnected and `maxQueuedCalls` calls already wait.' },
  clientClosed: { error: 'client-closed', reason: 'The client was closed', meaning: '`close()` was called; pending and later calls fail with this.' },
  connectFailed: { error: 'connect-failed', reason: 'Could not connect to the server', meaning: 'The first connection attempt failed (socket error, close or `connectTimeoutMs`).' },
  versionFailed: { error: 'version-mismatch', reason: 'The server speaks no DDP version this client supports', meaning: 'The server answered `connect` with `failed`.' },
  protocolError: { error: 'protocol-error', reason: 'The server did not understand a message', meaning: 'The server answered with `{msg:"error"}`, or sent a frame this client cannot read.' },
  twoFactorCancelled: { error: 'two-factor-cancelled', reason: 'Two-factor authentication was cancelled', meaning: '`onTwoFactorRequired` returned null.' },
  subscriptionStopped: { error: 'subscription-stopped', reason: 'The subscription was stopped before it was ready', meaning: '`stop()` was called before `ready`.' },
  passkeyUnsupported: { error: 'passkey-unsupported', reason: 'A passkey needs a browser with WebAuthn: answer with another factor', meaning: 'The server asked for a passkey (`details.method` is `passkey`) where there is no WebAuthn (Node, an old browser); `details.availableMethods` lists the other factors to name.' },
  badResponse: { error: 'bad-response', reason: 'The server answered with an unexpected shape', meaning: 'A helper got a result it cannot read (for example a login without a token).' },
} as const);

export type ClientErrorName = keyof typeof CLIENT_ERRORS;

/** Build the `DdpError` of a catalogue entry, with an optional more specific reason. */
export function clientError(name: ClientErrorName, reason?: string, details?: unknown): DdpError {
  const entry = CLIENT_ERRORS[name];
  return new DdpError(entry.error, reason ?? entry.reason, details);
}
