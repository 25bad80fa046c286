/**
 * Contract tests: the revocation feed. Every way a token stops working writes it there — the
 * store does it itself, so a removal by any code path (an admin command in another process, a
 * cascade, the expiry sweep) reaches the servers that hold its connections.
 */
import { expect } from 'chai';
import { at, makeUser, T0, type StoreGetter } from './helpers.js';

/** Defines the `revocations` tests. */
export function revocationContract(store: StoreGetter): void {
  describe('revocations', () => {
    // PostgreSQL may also return entries at or before `seq` (late commits): a reader skips those.
    const newerThan = async (seq: number, limit = 1000) => (await store().revocations.since(seq, limit)).filter((r) => r.seq > seq);
    const revokedSince = async (seq: number): Promise<string[]> => (await newerThan(seq)).map((r) => r.hashedToken);

    it('starts empty', async () => {
      expect(await store().revocations.latestSeq()).to.equal(0);
      expect(await revokedSince(0)).to.deep.equal([]);
    });

    it('records every removal of a login token: one, all but one, expired', async () => {
      const u = await makeUser(store(), 'rv');
      for (const h of ['a', 'b', 'c', 'd']) {
        await store().loginTokens.insert({ hashedToken: h, userId: u.id, createdAt: T0, expiresAt: h === 'd' ? at(10) : null });
      }
      await store().loginTokens.remove('a');
      await store().loginTokens.remove('nope');
      expect(await revokedSince(0)).to.deep.equal(['a']);
      const after = await store().revocations.latestSeq();
      await store().loginTokens.removeExpired(at(10));
      await store().loginTokens.removeForUser(u.id, 'b');
      expect(await revokedSince(after)).to.have.members(['d', 'c']);
      expect(await store().loginTokens.find('b')).to.not.equal(null);
    });

    it('records a personal token removed or regenerated (its old hash), but not a use of it', async () => {
      const u = await makeUser(store(), 'rp');
      await store().personalTokens.insert({ hashedToken: 'p1', userId: u.id, name: 'ci', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null });
      await store().personalTokens.insert({ hashedToken: 'p2', userId: u.id, name: 'bot', bypassTwoFactor: true, createdAt: T0, lastUsedAt: null });
      await store().personalTokens.touch('p1', at(1));
      expect(await revokedSince(0)).to.deep.equal([]);
      await store().personalTokens.replace(u.id, 'ci', 'p1-new', at(2));
      await store().personalTokens.remove(u.id, 'bot');
      expect(await revokedSince(0)).to.deep.equal(['p1', 'p2']);
    });

    it("records every token of a removed user, and pages oldest first", async () => {
      const u = await makeUser(store(), 'rr');
      for (let i = 0; i < 5; i++) await store().loginTokens.insert({ hashedToken: `s${i}`, userId: u.id, createdAt: T0, expiresAt: null });
      await store().personalTokens.insert({ hashedToken: 'pp', userId: u.id, name: 'x', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null });
      await store().users.remove(u.id);
      const page = await newerThan(0, 4);
      expect(page).to.have.length(4);
      expect(page.map((r) => r.seq)).to.deep.equal([...page.map((r) => r.seq)].sort((x, y) => x - y));
      const rest = await newerThan(page.at(-1)!.seq, 4);
      expect([...page, ...rest].map((r) => r.hashedToken)).to.have.members(['s0', 's1', 's2', 's3', 's4', 'pp']);
      expect(await store().revocations.latestSeq()).to.equal(rest.at(-1)!.seq);
    });

    it('forgets entries older than a date', async () => {
      const u = await makeUser(store(), 'ro');
      await store().loginTokens.insert({ hashedToken: 'x', userId: u.id, createdAt: T0, expiresAt: null });
      await store().loginTokens.remove('x');
      const [entry] = await store().revocations.since(0, 10);
      expect(entry!.at.getTime()).to.be.closeTo(Date.now(), 60_000);
      expect(await store().revocations.removeOlderThan(new Date(entry!.at.getTime()))).to.equal(0);
      expect(await store().revocations.removeOlderThan(new Date(entry!.at.getTime() + 1))).to.equal(1);
      expect(await revokedSince(0)).to.deep.equal([]);
    });
  });
}
