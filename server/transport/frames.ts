/**
 * RFC 6455 framing of server→client text frames (unmasked, FIN set, no extension bits), for
 * several messages in ONE buffer: a DDP call answers with two frames (`result` and `updated`),
 * and one write of one buffer is the cheapest way to send them. Used only when
 * permessage-deflate is off; otherwise `ws` frames and compresses each message itself.
 */

/** Header length of a frame carrying `length` payload bytes. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Encode `texts` as consecutive unmasked text frames in one buffer. */
export function encodeTextFrames(texts: readonly string[]): Buffer {
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
