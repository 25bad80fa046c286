/**
 * SockJS framing over its WebSocket transport, enough for Meteor's browser client: `o` opens,
 * `a["msg",...]` carries messages, `c[code,"reason"]` closes; the client sends a JSON array of
 * message strings (or one JSON string). `GET /sockjs/info` tells the client WebSocket works.
 */
import { randomInt } from 'node:crypto';

export const SOCKJS_OPEN = 'o';

/** `/sockjs/<server>/<session>/websocket`, with SockJS's rules for the two ids. */
const WEBSOCKET_PATH = /^\/sockjs\/[^/.]+\/[^/.]+\/websocket\/?$/;

export function isSockJsWebSocketPath(path: string): boolean {
  return WEBSOCKET_PATH.test(path);
}

export function encodeSockJsMessages(frames: readonly string[]): string {
  return 'a' + JSON.stringify(frames);
}

export function encodeSockJsClose(code: number, reason: string): string {
  return 'c' + JSON.stringify([code, reason]);
}

/** The messages in one inbound SockJS frame, or null when the framing is broken. */
export function decodeSockJsFrame(text: string): string[] | null {
  if (text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return null;
}

/** The body of `GET /sockjs/info`. */
export function sockJsInfo(): Record<string, unknown> {
  return { websocket: true, origins: ['*:*'], cookie_needed: false, entropy: randomInt(0, 2 ** 32 - 1) };
}
