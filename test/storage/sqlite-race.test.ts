/**
 * Real races on one SQLite file: each contender is a worker thread with its own connection,
 * released at the same instant by a barrier, so the operations truly overlap in SQLite (unlike
 * `Promise.all` on one connection, whose synchronous calls run one after another). This is
 * what two `ddp-guard serve` processes on one file do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { createSqliteStore } from '../../server/storage/sqlite/index.js';
import type { Store } from '../../server/storage/contract.js';
import { at, makeUser, T0 } from './helpers.js';
import type { RaceJob } from './fixtures/race-worker.js';

const WORKER = new URL('./fixtures/race-worker.js', import.meta.url);
const CONTENDERS = 8;

/** Starts `CONTENDERS` workers on `op`, releases them together, returns their results. */
async function race(file: string, userId: string, op: RaceJob['op']): Promise<unknown[]> {
  const barrier = new SharedArrayBuffer(8);
  const shared = new Int32Array(barrier);
  const workers = Array.from({ length: CONTENDERS }, () => new Worker(WORKER, { workerData: { file, op, userId, barrier } satisfies RaceJob }));
  const results = workers.map((w) => new Promise<unknown>((resolve, reject) => {
    w.on('message', (m: { ready?: true; result?: unknown; error?: string }) => {
      if (m.error !== undefined) reject(new Error(m.error));
      else if (!m.ready) resolve(m.result);
    });
    w.on('error', reject);
  }));
  // Every worker has opened its connection and waits at the barrier: go.
  while (Atomics.load(shared, 0) < CONTENDERS) await new Promise((resolve) => setTimeout(resolve, 5));
  Atomics.store(shared, 1, 1);
  Atomics.notify(shared, 1);
  try {
    return await Promise.all(results);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

describe(`sqlite store: ${CONTENDERS} connections on one file (worker threads) racing`, function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let store: Store;
  let userId: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddp-guard-race-'));
    file = join(dir, 'guard.db');
    store = createSqliteStore({ file });
    userId = (await makeUser(store, 'racer')).id;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const winners = (results: unknown[]): number => results.filter((r) => r === true).length;

  it('one TOTP step: exactly one connection records it', async () => {
    expect(winners(await race(file, userId, 'recordTotpStep'))).to.equal(1);
    expect((await store.twoFactor.get(userId)).lastTotpStep).to.equal(77);
  });

  it('one backup code: exactly one connection uses it', async () => {
    await store.twoFactor.replaceBackupCodes(userId, ['one', 'two']);
    expect(winners(await race(file, userId, 'consumeBackupCode'))).to.equal(1);
    expect((await store.twoFactor.get(userId)).backupCodesRemaining).to.equal(1);
  });

  it('one email code: exactly one connection consumes it', async () => {
    await store.codes.put({ userId, purpose: 'email-2fa', codeHash: 'c', createdAt: T0, expiresAt: at(600_000), data: null });
    expect(winners(await race(file, userId, 'consumeCode'))).to.equal(1);
  });

  it('one pending secret: exactly one connection enables TOTP', async () => {
    await store.twoFactor.setPendingTotpSecret(userId, 'pending');
    expect(winners(await race(file, userId, 'enableTotp'))).to.equal(1);
  });

  it('failures from every connection: none lost, each sees a different count', async () => {
    const counts = (await race(file, userId, 'recordFailure')) as number[];
    expect([...counts].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: CONTENDERS }, (_, i) => i + 1));
    expect((await store.attempts.get(userId, 'totp', T0)).failures).to.equal(CONTENDERS);
  });

  it('a read-then-write transaction on every connection: each sees the others committed (no name taken twice)', async () => {
    const names = (await race(file, userId, 'nameInTransaction')) as string[];
    expect([...names].sort()).to.deep.equal(Array.from({ length: CONTENDERS }, (_, i) => `t${i}`).sort());
    expect(await store.personalTokens.list(userId)).to.have.length(CONTENDERS);
  });
});
