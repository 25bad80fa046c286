import { expect } from 'chai';
import * as wsModule from 'ws';
import { encodeTextFrames } from '../../server/transport/frames.js';
import { encode } from '../../protocol/ejson.js';
import { PING_TEXT, PONG_TEXT } from '../../protocol/messages.js';

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

  it('encodes the heartbeat texts (what encode writes for ping and pong) once, to the same bytes as any other text', () => {
    expect([PING_TEXT, PONG_TEXT]).to.deep.equal([encode({ msg: 'ping' }), encode({ msg: 'pong' })]);
    for (const text of [PING_TEXT, PONG_TEXT]) {
      expect(encodeTextFrames([text]).equals(wsFrame(text))).to.equal(true);
      expect(encodeTextFrames([text]), 'one buffer for every heartbeat').to.equal(encodeTextFrames([text]));
    }
    expect(encodeTextFrames([PING_TEXT, PONG_TEXT]).equals(Buffer.concat([wsFrame(PING_TEXT), wsFrame(PONG_TEXT)]))).to.equal(true);
  });
});
