import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sha256, sha256Hex } from '../../client/sha256.js';
import { passwordDigest } from '../../client/account.js';

function nodeHex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('client sha-256 (pure TypeScript)', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).to.equal('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).to.equal('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it("agrees with Node's crypto on every length around the block and padding boundaries", () => {
    for (let length = 0; length <= 200; length += 1) {
      const bytes = new Uint8Array(randomBytes(length));
      expect(Buffer.from(sha256(bytes)).toString('hex'), `length ${length}`).to.equal(nodeHex(bytes));
    }
  });

  it("agrees with Node's crypto on UTF-8 text and a long input", () => {
    for (const text of ['password', 'pässwörd', '密码🔐', 'a'.repeat(1_000_000), '\u0000\uffff']) {
      expect(sha256Hex(text)).to.equal(nodeHex(text));
    }
  });

  it('builds the login digest Meteor sends', () => {
    expect(passwordDigest('secret')).to.deep.equal({ digest: nodeHex('secret'), algorithm: 'sha-256' });
    const pre = { digest: 'ab'.repeat(32), algorithm: 'sha-256' as const };
    expect(passwordDigest(pre)).to.equal(pre);
  });
});
