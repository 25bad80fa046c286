/**
 * Contract tests: `CodeStore`, including single use under concurrency and expiry.
 */
import { expect } from 'chai';
import type { CodePurpose, CodeRecord } from '../../server/storage/contract.js';
import { StoreNotFoundError } from '../../server/storage/store-errors.js';
import { at, countWinners, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

const code = (
  userId: string, purpose: CodePurpose, codeHash: string, createdAt = T0, expiresAt = at(600_000), data: string | null = null,
): CodeRecord => ({ userId, purpose, codeHash, createdAt, expiresAt, data });

/** Defines the `codes` tests. */
export function codeContract(store: StoreGetter): void {
  describe('codes', () => {
    it('stores a code and finds it while unexpired (expiresAt > now)', async () => {
      const u = await makeUser(store(), 'ada');
      const rec = code(u.id, 'verify-email', 'h1', T0, at(1000), 'ada@example.com');
      await store().codes.put(rec);
      expect(await store().codes.findActive(u.id, 'verify-email', at(999))).to.deep.equal(rec);
      expect(await store().codes.findActive(u.id, 'verify-email', at(1000))).to.equal(null);
      expect(await store().codes.findActive(u.id, 'reset-password', T0)).to.equal(null);
    });

    it('keeps one email-2fa code per user: a new one replaces the old', async () => {
      const u = await makeUser(store(), 'bo');
      const o = await makeUser(store(), 'cj');
      await store().codes.put(code(o.id, 'email-2fa', 'other'));
      await store().codes.put(code(u.id, 'email-2fa', 'first'));
      await store().codes.put(code(u.id, 'email-2fa', 'second', at(10)));
      expect((await store().codes.findActive(u.id, 'email-2fa', at(20)))?.codeHash).to.equal('second');
      expect(await store().codes.consume(u.id, 'email-2fa', 'first', at(20))).to.equal(null);
      expect(await store().codes.consume(o.id, 'email-2fa', 'other', at(20))).to.not.equal(null);
    });

    it('keeps several codes of other purposes; findActive gives the latest', async () => {
      const u = await makeUser(store(), 'di');
      await store().codes.put(code(u.id, 'verify-email', 'v1', at(0)));
      await store().codes.put(code(u.id, 'verify-email', 'v2', at(100)));
      expect((await store().codes.findActive(u.id, 'verify-email', at(200)))?.codeHash).to.equal('v2');
      expect(await store().codes.consume(u.id, 'verify-email', 'v1', at(200))).to.not.equal(null);
      expect(await store().codes.consume(u.id, 'verify-email', 'v2', at(200))).to.not.equal(null);
    });

    it('consumes a matching unexpired code once and returns it', async () => {
      const u = await makeUser(store(), 'ed');
      const o = await makeUser(store(), 'flo');
      const rec = code(u.id, 'email-2fa', 'h', T0, at(1000), 'payload');
      await store().codes.put(rec);
      expect(await store().codes.consume(u.id, 'email-2fa', 'wrong', at(1))).to.equal(null);
      expect(await store().codes.consume(u.id, 'verify-email', 'h', at(1))).to.equal(null);
      expect(await store().codes.consume(o.id, 'email-2fa', 'h', at(1))).to.equal(null);
      expect(await store().codes.consume(u.id, 'email-2fa', 'h', at(1))).to.deep.equal(rec);
      expect(await store().codes.consume(u.id, 'email-2fa', 'h', at(1))).to.equal(null);
      expect(await store().codes.findActive(u.id, 'email-2fa', at(1))).to.equal(null);
    });

    it('never consumes an expired code', async () => {
      const u = await makeUser(store(), 'gwen');
      await store().codes.put(code(u.id, 'reset-password', 'h', T0, at(1000)));
      expect(await store().codes.consume(u.id, 'reset-password', 'h', at(1000))).to.equal(null);
      expect(await store().codes.consume(null, 'reset-password', 'h', at(5000))).to.equal(null);
    });

    it('consumes by hash alone when no user is given (link tokens)', async () => {
      const u = await makeUser(store(), 'hy');
      await store().codes.put(code(u.id, 'reset-password', 'link'));
      const got = await store().codes.consume(null, 'reset-password', 'link', at(1));
      expect(got?.userId).to.equal(u.id);
      expect(await store().codes.consume(null, 'reset-password', 'link', at(1))).to.equal(null);
    });

    it('20 uses of one code: exactly one gets it (started together; a real race only where the calls overlap: PostgreSQL, and SQLite in sqlite-race.test.ts)', async () => {
      const u = await makeUser(store(), 'ike');
      await store().codes.put(code(u.id, 'email-2fa', 'race'));
      const winners = await countWinners(
        20,
        async () => (await store().codes.consume(u.id, 'email-2fa', 'race', at(1))) !== null,
      );
      expect(winners).to.equal(1);
    });

    it("removes a user's codes of one purpose", async () => {
      const u = await makeUser(store(), 'jo');
      await store().codes.put(code(u.id, 'verify-email', 'v1'));
      await store().codes.put(code(u.id, 'verify-email', 'v2'));
      await store().codes.put(code(u.id, 'email-2fa', 'e'));
      expect(await store().codes.removeForUser(u.id, 'verify-email')).to.equal(2);
      expect(await store().codes.findActive(u.id, 'verify-email', T0)).to.equal(null);
      expect(await store().codes.findActive(u.id, 'email-2fa', T0)).to.not.equal(null);
      expect(await store().codes.removeForUser(u.id, 'verify-email')).to.equal(0);
    });

    it('removes expired codes (expiresAt <= now)', async () => {
      const u = await makeUser(store(), 'kai');
      await store().codes.put(code(u.id, 'verify-email', 'past', T0, at(-1)));
      await store().codes.put(code(u.id, 'verify-email', 'edge', T0, T0));
      await store().codes.put(code(u.id, 'verify-email', 'live', T0, at(1)));
      expect(await store().codes.removeExpired(T0)).to.equal(2);
      expect(await store().codes.consume(u.id, 'verify-email', 'live', T0)).to.not.equal(null);
      expect(await store().codes.removeExpired(at(10))).to.equal(0);
    });

    it('rejects a code for an unknown user', async () => {
      expect(await rejection(store().codes.put(code('ghost', 'email-2fa', 'h')))).to.be.instanceOf(StoreNotFoundError);
    });
  });
}
