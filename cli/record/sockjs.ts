/**
 * DDP messages inside WebSocket frames, plain or SockJS-framed. Meteor serves SockJS at
 * `/sockjs/<server>/<session>/websocket`, where the server sends `o` (open), `h` (heartbeat),
 * `a["<json>",…]` (messages) and `c[code,"reason"]` (close), and the client sends
 * `["<json>",…]`. The proxy passes frames through unchanged; only what it records is unwrapped.
 * @module
 */

/** The DDP messages in one text frame (none for SockJS's `o`, `h` and `c` frames). */
export function messagesOf(frame: string, fromServer: boolean): unknown[] {
  const text = frame.trim();
  if (fromServer && (text === 'o' || text === 'h' || text.startsWith('c['))) return [];
  const packed = fromServer ? (text.startsWith('a[') ? text.slice(1) : undefined) : text.startsWith('[') ? text : undefined;
  if (packed !== undefined) {
    try {
      const items = JSON.parse(packed) as unknown;
      if (Array.isArray(items) && items.every((i) => typeof i === 'string')) return items.map((i) => parseOrText(i as string));
    } catch {
      // Not SockJS after all: read it as one message.
    }
  }
  return [parseOrText(text)];
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
