import { expect } from 'chai';
import { ManualClock, systemClock } from '../../server/runtime/clock.js';
import { systemRandom, type RandomSource } from '../../server/security/random.js';
import {
  BACKUP_CODE_ALPHABET,
  generateBackupCodes,
  normalizeBackupCode,
} from '../../server/two-factor/backup-codes.js';
import { generateEmailCode, normalizeEmailCode } from '../../server/two-factor/email-code.js';

describe('two-factor codes', () => {
  describe('backup codes', () => {
    it('gives 12 distinct codes of 10 characters by default', () => {
      const codes = generateBackupCodes();
      expect(codes).to.have.length(12);
      expect(new Set(codes).size).to.equal(12);
      for (const c of codes) expect(c).to.match(/^[23456789abcdefghjkmnpqrstuvwxyz]{10}$/);
    });

    it('uses no look-alike characters', () => {
      for (const ch of '01oOlIiL') expect(BACKUP_CODE_ALPHABET).to.not.include(ch.toLowerCase());
      expect(new Set(BACKUP_CODE_ALPHABET).size).to.equal(BACKUP_CODE_ALPHABET.length);
    });

    it('draws every alphabet character about equally often', () => {
      const counts = new Map<string, number>();
      const codes = generateBackupCodes(100, 64);
      for (let round = 0; round < 5; round++) codes.push(...generateBackupCodes(100, 64));
      for (const c of codes) for (const ch of c) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      const expected = (600 * 64) / BACKUP_CODE_ALPHABET.length; // ≈ 1239, σ ≈ 35
      expect(counts.size).to.equal(BACKUP_CODE_ALPHABET.length);
      for (const [ch, n] of counts) expect(Math.abs(n - expected), ch).to.be.lessThan(expected * 0.2);
    });

    it('honours count and length, and refuses silly sizes', () => {
      const codes = generateBackupCodes(3, 16);
      expect(codes).to.have.length(3);
      for (const c of codes) expect(c).to.have.length(16);
      expect(() => generateBackupCodes(0)).to.throw(RangeError);
      expect(() => generateBackupCodes(12, 4)).to.throw(RangeError);
    });

    it('normalizes user input: trim, drop spaces and dashes, lower-case', () => {
      expect(normalizeBackupCode('  ABCDE-FGHJK ')).to.equal('abcdefghjk');
      expect(normalizeBackupCode('abc de\tfg-hj-k')).to.equal('abcdefghjk');
      const [code] = generateBackupCodes(1);
      expect(normalizeBackupCode(code!.toUpperCase())).to.equal(code);
    });
  });

  describe('email codes', () => {
    it('are six digits', () => {
      for (let i = 0; i < 200; i++) expect(generateEmailCode()).to.match(/^[0-9]{6}$/);
    });

    it('are zero-padded and drawn from [0, 10^6)', () => {
      const draws: number[] = [];
      const fixed = (n: number): RandomSource => ({
        bytes: (k) => Buffer.alloc(k),
        int: (max) => {
          draws.push(max);
          return n;
        },
      });
      expect(generateEmailCode(fixed(42))).to.equal('000042');
      expect(generateEmailCode(fixed(0))).to.equal('000000');
      expect(generateEmailCode(fixed(999_999))).to.equal('999999');
      expect(draws).to.deep.equal([1_000_000, 1_000_000, 1_000_000]);
    });

    it('every leading digit comes up, about equally often (a smoke test: too coarse to see a modulo bias)', () => {
      const counts = new Array<number>(10).fill(0);
      for (let i = 0; i < 20_000; i++) counts[Number(generateEmailCode()[0])]! += 1;
      for (const n of counts) expect(n).to.be.within(1700, 2300); // expected 2000, σ ≈ 42
    });

    // No modulo bias is two facts: the code is one draw of int(10^6) (the test above: the
    // generator never reduces random bytes itself), and the system source's int() rejects
    // the draws that would bias it. The second is checked where a bias would be large: a
    // range of 2/3 of the 48-bit source, where `r % max` would give the lower half of the
    // range 2/3 of the time instead of 1/2.
    it('systemRandom.int draws without modulo bias (a plain modulo would fail this)', () => {
      const max = Math.floor((2 ** 48 / 3) * 2);
      let lower = 0;
      const n = 6000;
      for (let i = 0; i < n; i++) if (systemRandom.int(max) < max / 2) lower++;
      // Unbiased: 3000 ± 39 (σ); a plain modulo: 4000.
      expect(lower).to.be.within(2750, 3250);
    });

    it('normalizes whitespace', () => {
      expect(normalizeEmailCode(' 123 456\n')).to.equal('123456');
    });
  });

  describe('clock', () => {
    it('ManualClock is set and advanced by hand; systemClock follows Date.now', () => {
      const c = new ManualClock(1000);
      expect(c.now()).to.equal(1000);
      c.advance(500);
      expect(c.now()).to.equal(1500);
      c.set(42);
      expect(c.now()).to.equal(42);
      expect(Math.abs(systemClock.now() - Date.now())).to.be.lessThan(50);
    });
  });
});
