import { expect } from 'chai';
import * as wsModule from 'ws';
import { encodeTextFrames } from '../../server/transport/frames.js';

/** ws's own framing of one unmasked text frame, as the reference. */
function wsFrame(text: string): Buffer {
  const list = ((wsModule as unknown as { Sender: unknown }).Sender as { frame(data: Buffer, options: Record<string, unknown>): Buffer[] }).frame(Buffer.from(text, 'utf8'), {
    fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false,
  });
  return Buffer.concat(list);
}

describe('transport: text frame encoding', () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
    it(`matches ws's framing for a ${length}-byte payload`, () => {
      const text = 'a'.repeat(length);
      expect(encodeTextFrames([text]).equals(wsFrame(text))).to.equal(true);
    });
  }

  it('counts UTF-8 bytes, not characters, in the length', () => {
    const text = 'é'.repeat(100) + '😀'.repeat(20); // 200 + 80 bytes: needs the 16-bit length
    expect(encodeTextFrames([text]).equals(wsFrame(text))).to.equal(true);
  });

  it('puts several frames back to back in one buffer', () => {
    const texts = ['{"msg":"result","id":"1","result":0}', '{"msg":"updated","methods":["1"]}', 'x'.repeat(300)];
    const expected = Buffer.concat(texts.map(wsFrame));
    expect(encodeTextFrames(texts).equals(expected)).to.equal(true);
  });
});
