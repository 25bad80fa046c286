/**
 * The storage contract suite: every store runs exactly these tests.
 *
 * The "started together" tests fire many calls with `Promise.all` on one store object. The
 * memory and SQLite stores finish each call synchronously, so there those calls run one after
 * another and only check single use; the real races are in `sqlite-race.test.ts` (worker
 * threads, one connection each, on one file) and `postgres.test.ts` (several pools).
 */
import { expect } from 'chai';
import type { Store } from '../../server/storage/contract.js';
import { StoreUnavailableError } from '../../server/storage/store-errors.js';
import { attemptContract, auditContract } from './contract-attempts.js';
import { codeContract } from './contract-codes.js';
import { callResultContract } from './contract-call-results.js';
import { passkeyContract } from './contract-passkeys.js';
import { revocationContract } from './contract-revocations.js';
import { loginTokenContract, personalTokenContract } from './contract-tokens.js';
import { twoFactorContract } from './contract-two-factor.js';
import { userContract } from './contract-users.js';
import { transactionContract } from './contract-transactions.js';
import { rejection } from './helpers.js';

/**
 * Defines the contract tests for one store implementation.
 * @param name shown in the test titles
 * @param open returns a fresh, empty store; called before every test (closed after it)
 */
export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`storage contract: ${name}`, () => {
    let current: Store | undefined;
    const store = (): Store => {
      if (!current) throw new Error('no store open');
      return current;
    };

    beforeEach(async () => {
      current = await open();
    });
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    describe('store', () => {
      it('names its kind and answers ping', async () => {
        expect(store().kind).to.be.a('string').and.not.equal('');
        await store().ping();
      });

      it('fails with StoreUnavailableError once closed', async () => {
        await store().close();
        expect(await rejection(store().ping())).to.be.instanceOf(StoreUnavailableError);
        expect(await rejection(store().users.findById('x'))).to.be.instanceOf(StoreUnavailableError);
      });
    });

    userContract(store);
    loginTokenContract(store);
    personalTokenContract(store);
    twoFactorContract(store);
    codeContract(store);
    attemptContract(store);
    revocationContract(store);
    auditContract(store);
    transactionContract(store);
    passkeyContract(store);
    callResultContract(store);
  });
}
