import { expect } from 'chai';
import {
  validateEmail,
  validatePassword,
  validateUsername,
  ValidationError,
} from '../../server/accounts/validation.js';

function failure(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return err as ValidationError;
  }
  return expect.fail('expected a ValidationError');
}

describe('accounts/validation', () => {
  describe('validateUsername', () => {
    for (const ok of ['a', 'alice', 'Bob.Smith', 'x_y-z.0', 'a'.repeat(64)]) {
      it(`accepts ${JSON.stringify(ok.length > 20 ? `${ok.slice(0, 8)}… (${ok.length})` : ok)}`, () => {
        expect(validateUsername(ok)).to.equal(ok);
      });
    }
    const bad: [unknown, RegExp][] = [
      ['', /empty/],
      ['a'.repeat(65), /65 characters.*limit is 64/],
      ['bo b', /only contain letters, digits/],
      ['bob@example.com', /only contain/],
      ['émile', /only contain/],
      [' bob', /only contain/],
      [42, /must be text, got a number/],
      [null, /must be text, got null/],
    ];
    for (const [value, message] of bad) {
      const title = typeof value === 'string' && value.length > 20 ? `${value.length} characters` : JSON.stringify(value);
      it(`rejects ${title} with a clear message`, () => {
        const err = failure(() => validateUsername(value));
        expect(err.field).to.equal('username');
        expect(err.message).to.match(message);
      });
    }
  });

  describe('validateEmail', () => {
    it('lower-cases the domain only', () => {
      expect(validateEmail('Alice.Smith@Example.COM')).to.equal('Alice.Smith@example.com');
    });
    for (const ok of ['a@b', 'alice+tag@mail.example.org', "o'brien@example.ie", 'x@localhost']) {
      it(`accepts ${ok}`, () => expect(validateEmail(ok)).to.equal(ok));
    }
    it('accepts 254 characters and rejects 255', () => {
      const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(61)}.com`;
      const at254 = `${'l'.repeat(60)}@${domain}`;
      expect(at254).to.have.length(254);
      expect(validateEmail(at254)).to.equal(at254);
      expect(failure(() => validateEmail(`l${at254}`)).message).to.match(/255 characters.*limit is 254/);
    });
    for (const bad of ['', 'alice', '@example.com', 'alice@', 'a b@example.com', 'alice@exa mple.com', 'alice@-example.com', 'a@b..c', `${'l'.repeat(65)}@example.com`]) {
      it(`rejects ${bad.length > 30 ? 'a 65-character local part' : JSON.stringify(bad)}`, () => {
        const err = failure(() => validateEmail(bad));
        expect(err.field).to.equal('email');
        expect(err.message).to.match(/email address/);
      });
    }
  });

  describe('validatePassword', () => {
    it('accepts any non-empty text up to 256 characters, unchanged', () => {
      expect(validatePassword(' x ')).to.equal(' x ');
      expect(validatePassword('p'.repeat(256))).to.have.length(256);
    });
    it('rejects empty, too long and non-text passwords', () => {
      expect(failure(() => validatePassword('')).message).to.match(/empty/);
      expect(failure(() => validatePassword('p'.repeat(257))).message).to.match(/257 characters.*limit is 256/);
      expect(failure(() => validatePassword(undefined)).field).to.equal('password');
    });
  });
});
