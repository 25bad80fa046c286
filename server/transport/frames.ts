/**
 * RFC 6455 framing of server→client text frames (unmasked, FIN set, no extension bits), for
 * several messages in ONE buffer: a DDP call answers with two frames (`result` and `updated`),
 * and one write of one buffer is the cheapest way to send them. Used only when
 * permessage-deflate is off; otherwise `ws` frames and compresses each message itself.
 */
import { PING_TEXT, PONG_TEXT } from '../../protocol/messages.js';

/** Header length of a frame carrying `length` payload bytes. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * The frames of the heartbeat messages, encoded once: nearly all an idle connection sends. A
 * socket write does not keep or change the buffer it is given, so one buffer serves them all.
 */
const CONSTANT_FRAMES = new Map<string, Buffer>([PING_TEXT, PONG_TEXT].map((text) => [text, encodeFrames([text])]));
const LONGEST_CONSTANT = Math.max(...[...CONSTANT_FRAMES.keys()].map((t) => t.length));

/** Encode `texts` as consecutive unmasked text frames in one buffer (never to be written into: it may be shared). */
export function encodeTextFrames(texts: readonly string[]): Buffer {
  if (texts.length === 1 && texts[0]!.length <= LONGEST_CONSTANT) {
    const constant = CONSTANT_FRAMES.get(texts[0]!);
    if (constant !== undefined) return constant;
  }
  return encodeFrames(texts);
}

function encodeFrames(texts: readonly string[]): Buffer {
  const lengths = texts.map((t) => Buffer.byteLength(t, 'utf8'));
  let total = 0;
  for (const length of lengths) total += headerLength(length) + length;
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < texts.length; i++) {
    const length = lengths[i]!;
    buffer[offset++] = 0x81; // FIN + opcode 1 (text)
    if (length < 126) {
      buffer[offset++] = length;
    } else if (length < 65536) {
      buffer[offset++] = 126;
      buffer.writeUInt16BE(length, offset);
      offset += 2;
    } else {
      buffer[offset++] = 127;
      buffer.writeUInt32BE(Math.floor(length / 2 ** 32), offset);
      buffer.writeUInt32BE(length >>> 0, offset + 4);
      offset += 8;
    }
    offset += buffer.write(texts[i]!, offset, 'utf8');
  }
  return buffer;
}
