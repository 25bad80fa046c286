import { expect } from 'chai';
import {
  constantTimeEqual,
  deriveKey,
  hmacHex,
  randomToken,
  SecretBox,
  SecretBoxError,
  sha256Base64,
  sha256Hex,
} from '../../server/security/crypto.js';

const MASTER = Buffer.alloc(32, 7);

describe('security/crypto', () => {
  describe('hashes', () => {
    it('sha256Hex matches the FIPS 180-2 vector for "abc"', () => {
      expect(sha256Hex('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });

    it("sha256Base64 is Meteor's login-token hash (base64 of the raw digest)", () => {
      expect(sha256Base64('abc')).to.equal(Buffer.from(sha256Hex('abc'), 'hex').toString('base64'));
      expect(sha256Base64('abc')).to.equal('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
    });

    it('hmacHex length-prefixes parts so different splits differ', () => {
      const key = Buffer.alloc(32, 1);
      expect(hmacHex(key, 'ab', 'c')).to.not.equal(hmacHex(key, 'a', 'bc'));
      expect(hmacHex(key, 'abc')).to.not.equal(hmacHex(key, 'ab', 'c'));
      expect(hmacHex(key, 'a', '')).to.not.equal(hmacHex(key, 'a'));
      expect(hmacHex(key, 'x', 'y')).to.equal(hmacHex(key, 'x', 'y')).and.match(/^[0-9a-f]{64}$/);
      expect(hmacHex(Buffer.alloc(32, 2), 'x', 'y')).to.not.equal(hmacHex(key, 'x', 'y'));
    });
  });

  describe('randomToken', () => {
    it('gives 256 bits by default, base64url, never repeating', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const t = randomToken();
        expect(t).to.match(/^[A-Za-z0-9_-]{43}$/);
        expect(Buffer.from(t, 'base64url')).to.have.length(32);
        seen.add(t);
      }
      expect(seen.size).to.equal(200);
    });

    it('refuses sizes under 128 bits', () => {
      expect(() => randomToken(8)).to.throw(RangeError);
      expect(randomToken(48)).to.have.length(64);
    });
  });

  describe('constantTimeEqual', () => {
    it('compares content, including unequal lengths and the empty string', () => {
      expect(constantTimeEqual('abc', 'abc')).to.equal(true);
      expect(constantTimeEqual('abc', 'abd')).to.equal(false);
      expect(constantTimeEqual('abc', 'abcd')).to.equal(false);
      expect(constantTimeEqual('', '')).to.equal(true);
      expect(constantTimeEqual('', 'a')).to.equal(false);
      expect(constantTimeEqual('é', 'e')).to.equal(false);
    });
  });

  describe('SecretBox', () => {
    const box = SecretBox.fromMaster(MASTER, 'test/totp');

    it('round-trips text, with a fresh IV each time', () => {
      const a = box.seal('JBSWY3DPEHPK3PXP');
      const b = box.seal('JBSWY3DPEHPK3PXP');
      expect(a).to.match(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
      expect(a).to.not.equal(b);
      expect(box.open(a)).to.equal('JBSWY3DPEHPK3PXP');
      expect(box.open(b)).to.equal('JBSWY3DPEHPK3PXP');
      expect(box.open(box.seal(''))).to.equal('');
      expect(box.open(box.seal('ünïcødé ✓'))).to.equal('ünïcødé ✓');
    });

    it('detects tampering with any part', () => {
      const sealed = box.seal('secret value');
      const parts = sealed.split('.');
      for (const i of [1, 2, 3]) {
        const bytes = Buffer.from(parts[i] as string, 'base64url');
        bytes[0] = (bytes[0] as number) ^ 1;
        const forged = [...parts];
        forged[i] = bytes.toString('base64url');
        expect(() => box.open(forged.join('.')), `part ${i}`).to.throw(SecretBoxError, /authentication failed|malformed/);
      }
    });

    it('a key for another purpose cannot open it', () => {
      const sealed = box.seal('secret value');
      const other = SecretBox.fromMaster(MASTER, 'test/other');
      expect(() => other.open(sealed)).to.throw(SecretBoxError, /authentication failed/);
      expect(() => SecretBox.fromMaster(Buffer.alloc(32, 8), 'test/totp').open(sealed)).to.throw(SecretBoxError);
    });

    it('binds the context: a value copied to another user does not open', () => {
      const sealed = box.seal('secret value', 'user-1');
      expect(box.open(sealed, 'user-1')).to.equal('secret value');
      expect(() => box.open(sealed, 'user-2')).to.throw(SecretBoxError);
      expect(() => box.open(sealed)).to.throw(SecretBoxError);
    });

    it('rejects malformed and unknown-version input clearly', () => {
      expect(() => box.open('garbage')).to.throw(SecretBoxError, /malformed/);
      expect(() => box.open('v1.a.b')).to.throw(SecretBoxError, /malformed/);
      expect(() => box.open('v1.AAAA.AAAA.AAAA')).to.throw(SecretBoxError, /IV or tag length/);
      const [, iv, tag, ct] = box.seal('x').split('.');
      expect(() => box.open(['v2', iv, tag, ct].join('.'))).to.throw(SecretBoxError, /version "v2"/);
    });

    it('requires a 32-byte key', () => {
      expect(() => new SecretBox(Buffer.alloc(16))).to.throw(RangeError);
    });
  });

  describe('deriveKey', () => {
    it('gives independent 32-byte keys per purpose, stable for the same purpose', () => {
      const a = deriveKey(MASTER, 'a');
      expect(a).to.have.length(32);
      expect(a.equals(deriveKey(MASTER, 'a'))).to.equal(true);
      expect(a.equals(deriveKey(MASTER, 'b'))).to.equal(false);
      expect(() => deriveKey(MASTER, '')).to.throw(TypeError);
    });
  });
});
