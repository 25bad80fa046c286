/**
 * Contract tests: `Store.transaction` — all or nothing, nested transactions, and what callers
 * outside an open transaction see and keep.
 */
import { expect } from 'chai';
import { StoreConflictError } from '../../server/storage/store-errors.js';
import { at, makeUser, rejection, T0, type StoreGetter } from './helpers.js';

/** A few turns of the event loop, so work outside a transaction gets to run meanwhile. */
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Defines the `transaction` tests. */
export function transactionContract(store: StoreGetter): void {
  describe('transaction', () => {
    it('commits every write when the function resolves, and returns its value', async () => {
      const u = await makeUser(store(), 'tina');
      const value = await store().transaction(async () => {
        await store().loginTokens.insert({ hashedToken: 't1', userId: u.id, createdAt: T0, expiresAt: null });
        await store().twoFactor.setEmailEnabled(u.id, true);
        return 42;
      });
      expect(value).to.equal(42);
      expect(await store().loginTokens.find('t1')).to.not.equal(null);
      expect((await store().twoFactor.get(u.id)).emailEnabled).to.equal(true);
    });

    it('undoes every write when the function throws, and rethrows its error', async () => {
      const u = await makeUser(store(), 'uma');
      await store().twoFactor.setPendingTotpSecret(u.id, 'pending');
      await store().loginTokens.insert({ hashedToken: 'keep', userId: u.id, createdAt: T0, expiresAt: null });
      const boom = new Error('boom');
      const err = await rejection(store().transaction(async () => {
        expect(await store().twoFactor.enableTotp(u.id, ['c1', 'c2'])).to.equal(true);
        expect(await store().loginTokens.removeForUser(u.id)).to.equal(1);
        await store().personalTokens.insert({ hashedToken: 'p', userId: u.id, name: 'ci', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null });
        await store().audit.append({ at: T0, userId: u.id, action: 'totp.enabled', clientAddress: null, userAgent: null, details: null });
        // Seen from inside before the end.
        expect((await store().twoFactor.get(u.id)).totpEnabled).to.equal(true);
        throw boom;
      }));
      expect(err).to.equal(boom);
      const state = await store().twoFactor.get(u.id);
      expect(state).to.deep.include({ totpEnabled: false, pendingTotpSecret: 'pending', backupCodesRemaining: 0 });
      expect(await store().loginTokens.find('keep')).to.not.equal(null);
      expect(await store().personalTokens.findByName(u.id, 'ci')).to.equal(null);
      expect(await store().audit.list({ userId: u.id })).to.deep.equal([]);
      // The store is usable afterwards, in and out of transactions.
      await store().transaction(() => store().twoFactor.setEmailEnabled(u.id, true));
      expect((await store().twoFactor.get(u.id)).emailEnabled).to.equal(true);
    });

    it('rolls back when a store operation inside fails, and the error is the store error', async () => {
      const u = await makeUser(store(), 'vic');
      await store().personalTokens.insert({ hashedToken: 'p1', userId: u.id, name: 'ci', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null });
      const err = await rejection(store().transaction(async () => {
        await store().twoFactor.setEmailEnabled(u.id, true);
        await store().personalTokens.insert({ hashedToken: 'p2', userId: u.id, name: 'ci', bypassTwoFactor: false, createdAt: T0, lastUsedAt: null });
      }));
      expect(err).to.be.instanceOf(StoreConflictError);
      expect((await store().twoFactor.get(u.id)).emailEnabled).to.equal(false);
      expect((await store().personalTokens.list(u.id)).map((t) => t.hashedToken)).to.deep.equal(['p1']);
    });

    it('a transaction inside another is part of it: the outer failure undoes both', async () => {
      const u = await makeUser(store(), 'wes');
      await rejection(store().transaction(async () => {
        await store().transaction(() => store().twoFactor.setEmailEnabled(u.id, true));
        await store().codes.put({ userId: u.id, purpose: 'verify-email', codeHash: 'v', createdAt: T0, expiresAt: at(60_000), data: null });
        throw new Error('outer fails');
      }));
      expect((await store().twoFactor.get(u.id)).emailEnabled).to.equal(false);
      expect(await store().codes.findActive(u.id, 'verify-email', T0)).to.equal(null);
    });

    it('a caller outside never sees half of it, and a rollback keeps what others wrote meanwhile', async () => {
      const u = await makeUser(store(), 'xia');
      const seen: number[] = [];
      const tx = store().transaction(async () => {
        await store().loginTokens.insert({ hashedToken: 'x1', userId: u.id, createdAt: T0, expiresAt: null });
        await turns();
        await store().loginTokens.insert({ hashedToken: 'x2', userId: u.id, createdAt: T0, expiresAt: null });
        await turns();
        throw new Error('undo x1 and x2');
      });
      // Started while the transaction is open (the memory and SQLite stores make these wait).
      await new Promise((resolve) => setImmediate(resolve));
      const outside = Promise.all([
        store().loginTokens.insert({ hashedToken: 'y', userId: u.id, createdAt: T0, expiresAt: null }),
        (async () => {
          for (let i = 0; i < 6; i++) {
            const mine = await Promise.all(['x1', 'x2'].map((h) => store().loginTokens.find(h)));
            seen.push(mine.filter((t) => t !== null).length);
            await turns(1);
          }
        })(),
      ]);
      await rejection(tx);
      await outside;
      expect(seen.every((n) => n === 0), `tokens of the open transaction seen from outside: ${seen.join(',')}`).to.equal(true);
      expect(await store().loginTokens.find('y'), 'the write made outside it survives the rollback').to.not.equal(null);
      expect(await store().loginTokens.find('x1')).to.equal(null);
    });
  });
}
