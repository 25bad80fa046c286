/**
 * In-memory store for tests and throw-away servers. Every method runs to completion without
 * an `await` between its reads and writes, so each one is atomic on Node's single thread.
 * A transaction copies the data when it starts and puts the copy back if it fails.
 * @module
 */
import { memoryCallResultStore } from './call-results.js';
import type { Store } from '../contract.js';
import { memoryLoginTokenStore, memoryPersonalTokenStore, memoryUserStore } from './accounts.js';
import { MemoryData, type MemorySnapshot } from './data.js';
import { withSerialTransactions } from '../serial-transactions.js';
import { memoryAttemptStore, memoryAuditStore, memoryCodeStore, memoryTwoFactorStore } from './security.js';
import { memoryPasskeyStore, memoryWebAuthnChallengeStore } from './passkeys.js';
import { memoryAddressAttemptStore, memoryKnownAddressStore, memoryRevocationStore } from './guess-limits.js';

/** Creates an empty in-memory store. Data lives as long as the returned object. */
export function createMemoryStore(): Store {
  const d = new MemoryData();
  let before: MemorySnapshot | null = null;
  return withSerialTransactions({
    kind: 'memory',
    users: memoryUserStore(d),
    loginTokens: memoryLoginTokenStore(d),
    personalTokens: memoryPersonalTokenStore(d),
    twoFactor: memoryTwoFactorStore(d),
    codes: memoryCodeStore(d),
    attempts: memoryAttemptStore(d),
    addressAttempts: memoryAddressAttemptStore(d),
    knownAddresses: memoryKnownAddressStore(d),
    revocations: memoryRevocationStore(d),
    audit: memoryAuditStore(d),
    passkeys: memoryPasskeyStore(d),
    webauthnChallenges: memoryWebAuthnChallengeStore(d),
    callResults: memoryCallResultStore(d),
    async ping() {
      d.check();
    },
    async close() {
      d.closed = true;
    },
  }, {
    begin() {
      d.check();
      before = d.snapshot();
    },
    commit() {
      before = null;
    },
    rollback() {
      if (before) d.restore(before);
      before = null;
    },
  });
}
