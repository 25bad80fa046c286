import { expect } from 'chai';
import {
  generateTotpCode,
  generateTotpSecret,
  totpKeyUri,
  totpStep,
  verifyTotp,
} from '../../server/two-factor/totp.js';

// RFC 6238 appendix B seed "12345678901234567890" (SHA-1), base32 encoded.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const PERIOD_MS = 30_000;

describe('two-factor/totp', () => {
  it('matches the RFC 6238 SHA-1 vectors (last 6 of the 8 digits)', () => {
    expect(generateTotpCode(RFC_SECRET, 59_000)).to.equal('287082');
    expect(generateTotpCode(RFC_SECRET, 1_111_111_109_000)).to.equal('081804');
    expect(generateTotpCode(RFC_SECRET, 1_234_567_890_000)).to.equal('005924');
    expect(generateTotpCode(RFC_SECRET, 2_000_000_000_000)).to.equal('279037');
  });

  it('generates 20-byte base32 secrets and an otpauth URL', () => {
    const secret = generateTotpSecret();
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret()).to.not.equal(secret);
    const url = new URL(totpKeyUri({ secret, accountName: 'alice@example.com', issuer: 'ACME Chat' }));
    expect(url.protocol).to.equal('otpauth:');
    expect(url.host).to.equal('totp');
    expect(decodeURIComponent(url.pathname)).to.equal('/ACME Chat:alice@example.com');
    expect(url.searchParams.get('secret')).to.equal(secret);
    expect(url.searchParams.get('issuer')).to.equal('ACME Chat');
  });

  describe('verifyTotp window (±1 step) at exact boundaries', () => {
    const secret = RFC_SECRET;
    const N = 56_789_012; // an arbitrary step
    const codeAt = (step: number): string => generateTotpCode(secret, step * PERIOD_MS);

    it('first millisecond of step N: accepts N-1, N, N+1 and returns that step', () => {
      const at = N * PERIOD_MS;
      expect(totpStep(at)).to.equal(N);
      expect(verifyTotp(secret, codeAt(N - 1), at)).to.equal(N - 1);
      expect(verifyTotp(secret, codeAt(N), at)).to.equal(N);
      expect(verifyTotp(secret, codeAt(N + 1), at)).to.equal(N + 1);
      expect(verifyTotp(secret, codeAt(N - 2), at)).to.equal(null);
      expect(verifyTotp(secret, codeAt(N + 2), at)).to.equal(null);
    });

    it('last millisecond of step N: the window is still N-1..N+1', () => {
      const at = (N + 1) * PERIOD_MS - 1;
      expect(totpStep(at)).to.equal(N);
      expect(verifyTotp(secret, codeAt(N - 1), at)).to.equal(N - 1);
      expect(verifyTotp(secret, codeAt(N + 1), at)).to.equal(N + 1);
      expect(verifyTotp(secret, codeAt(N - 2), at)).to.equal(null);
      expect(verifyTotp(secret, codeAt(N + 2), at)).to.equal(null);
    });

    it('one millisecond later the window has moved to N..N+2', () => {
      const at = (N + 1) * PERIOD_MS;
      expect(verifyTotp(secret, codeAt(N - 1), at)).to.equal(null);
      expect(verifyTotp(secret, codeAt(N), at)).to.equal(N);
      expect(verifyTotp(secret, codeAt(N + 2), at)).to.equal(N + 2);
    });

    it('window 0 accepts only the current step; window 2 reaches two steps', () => {
      const at = N * PERIOD_MS + 12_345;
      expect(verifyTotp(secret, codeAt(N), at, 0)).to.equal(N);
      expect(verifyTotp(secret, codeAt(N + 1), at, 0)).to.equal(null);
      expect(verifyTotp(secret, codeAt(N - 2), at, 2)).to.equal(N - 2);
      expect(() => verifyTotp(secret, codeAt(N), at, -1)).to.throw(RangeError);
      expect(() => verifyTotp(secret, codeAt(N), at, 1.5)).to.throw(RangeError);
    });
  });

  it('rejects anything but six digits, and a wrong code', () => {
    const at = 1_700_000_000_000;
    const good = generateTotpCode(RFC_SECRET, at);
    expect(verifyTotp(RFC_SECRET, good, at)).to.equal(totpStep(at));
    expect(verifyTotp(RFC_SECRET, `${good.slice(0, 3)} ${good.slice(3)}`, at)).to.equal(totpStep(at));
    for (const bad of ['', '12345', '1234567', '12345a', 'abcdef', '-12345', '+12345', '１２３４５６', '12.345', `${good}\n`]) {
      expect(verifyTotp(RFC_SECRET, bad, at), JSON.stringify(bad)).to.equal(null);
    }
    const wrong = ((Number(good) + 1) % 1_000_000).toString().padStart(6, '0');
    // A wrong code could collide with a neighbouring step's code; check it is not one.
    const neighbours = [-1, 0, 1].map((d) => generateTotpCode(RFC_SECRET, at + d * PERIOD_MS));
    if (!neighbours.includes(wrong)) expect(verifyTotp(RFC_SECRET, wrong, at)).to.equal(null);
  });
});
