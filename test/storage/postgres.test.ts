/**
 * The PostgreSQL store against the storage contract, plus what only a shared server has:
 * atomicity across two pools (two processes), migrations under concurrent start-up, error
 * mapping, the SQL lock-out schedule. Each store gets a fresh schema, dropped after the test.
 * Skipped, saying so, when PostgreSQL does not answer at PG_URL.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { nextAttemptState, visibleAttemptState } from '../../server/storage/attempt-policy.js';
import type { AttemptPolicy, AttemptState, Store } from '../../server/storage/contract.js';
import { StoreConflictError, StoreUnavailableError } from '../../server/storage/store-errors.js';
import { openStore } from '../../server/storage/open.js';
import { appliedPgMigrations, createPostgresStore, PG_MIGRATIONS } from '../../server/storage/postgres/index.js';
import { pgCallResultStore } from '../../server/storage/postgres/call-results.js';
import { createPgContext, resolvePostgresOptions } from '../../server/storage/postgres/connection.js';
import { storeContract } from './contract.js';
import { at, countWinners, makeUser, rejection, T0 } from './helpers.js';
import { skipBecause } from '../helpers/skip.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other run uses. */
const freshSchema = (): string => `ddpguard_test_${randomBytes(6).toString('hex')}`;

describe('postgres', function () {
  let admin: pg.Pool | undefined;
  /** Schemas created by the current test, dropped after it. */
  const schemas: string[] = [];
  /** Stores opened by the current test, closed after it. */
  const stores: Store[] = [];

  const open = async (schema = freshSchema(), extra: { statementTimeoutMs?: number } = {}): Promise<Store> => {
    if (!schemas.includes(schema)) schemas.push(schema);
    const store = await createPostgresStore({ url: PG_URL, schema, poolSize: 4, ...extra });
    stores.push(store);
    return store;
  };

  before(async function () {
    const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await probe.connect();
      await probe.query('SELECT 1');
    } catch (err) {
      skipBecause(this, `PostgreSQL does not answer at ${PG_URL} (${(err as Error).message})`);
    } finally {
      await probe.end().catch(() => {});
    }
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });

  // Runs after the contract suite's own afterEach has closed its store.
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const schema of schemas.splice(0)) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  after(async () => {
    await admin?.end();
  });

  storeContract('postgres', () => open());

  describe('two stores on one schema (two processes)', () => {
    let a: Store;
    let b: Store;
    let schema: string;
    beforeEach(async () => {
      schema = freshSchema();
      a = await open(schema);
      b = await open(schema);
    });
    /** Alternates between the two stores. */
    const both = (): (() => Store) => {
      let i = 0;
      return () => (i++ % 2 === 0 ? a : b);
    };

    it('see each other\'s writes, and one case-insensitive username space', async () => {
      const u = await makeUser(a, 'Shared');
      expect((await b.users.findByUsername('SHARED'))?.id).to.equal(u.id);
      const err = await rejection(makeUser(b, 'shared'));
      expect((err as StoreConflictError).field).to.equal('username');
    });

    it('concurrent consumeBackupCode of one code: exactly one true', async () => {
      const u = await makeUser(a, 'bk');
      await a.twoFactor.replaceBackupCodes(u.id, ['one', 'two']);
      const pick = both();
      expect(await countWinners(20, () => pick().twoFactor.consumeBackupCode(u.id, 'one'))).to.equal(1);
      expect((await b.twoFactor.get(u.id)).backupCodesRemaining).to.equal(1);
    });

    it('concurrent recordTotpStep of one step: exactly one true, also when the row is new', async () => {
      const u = await makeUser(a, 'totp');
      const pick = both();
      // No two_factor row yet: the racing inserts meet in the upsert.
      expect(await countWinners(20, () => pick().twoFactor.recordTotpStep(u.id, 1_000))).to.equal(1);
      expect(await countWinners(20, () => pick().twoFactor.recordTotpStep(u.id, 1_001))).to.equal(1);
      expect((await a.twoFactor.get(u.id)).lastTotpStep).to.equal(1_001);
    });

    it('concurrent consume of one email code and enableTotp: exactly one each', async () => {
      const u = await makeUser(a, 'code');
      await a.codes.put({ userId: u.id, purpose: 'email-2fa', codeHash: 'c', createdAt: T0, expiresAt: at(600_000), data: null });
      const pick = both();
      expect(await countWinners(20, async () => (await pick().codes.consume(u.id, 'email-2fa', 'c', T0)) !== null)).to.equal(1);
      await b.twoFactor.setPendingTotpSecret(u.id, 'cipher');
      expect(await countWinners(20, () => pick().twoFactor.enableTotp(u.id, ['x', 'y']))).to.equal(1);
      expect(await a.twoFactor.get(u.id)).to.include({ totpEnabled: true, totpSecret: 'cipher', backupCodesRemaining: 2 });
    });

    it('concurrent email-code requests leave exactly one code', async () => {
      const u = await makeUser(a, 'mail');
      const pick = both();
      await Promise.all(Array.from({ length: 10 }, (_, i) =>
        pick().codes.put({ userId: u.id, purpose: 'email-2fa', codeHash: `h${i}`, createdAt: T0, expiresAt: at(600_000), data: null })));
      const { rows } = await admin!.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".codes WHERE user_id = $1`, [u.id]);
      expect(rows[0]?.n).to.equal(1);
    });

    it('failures recorded through both add up, and each one past the limit doubles the lock-out', async () => {
      const u = await makeUser(a, 'att');
      const policy = { maxFailures: 10, baseLockMs: 60_000, maxLockMs: 600_000, decayMs: 3_600_000 };
      const pick = both();
      const states = await Promise.all(Array.from({ length: 9 }, () => pick().attempts.recordFailure(u.id, 'totp', T0, policy)));
      expect(states.map((s) => s.failures).sort((x, y) => x - y)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // The 10th locks for 60 s, the 11th for 120 s, the 12th for 240 s, whichever process counts them.
      const last = await Promise.all(Array.from({ length: 3 }, () => pick().attempts.recordFailure(u.id, 'totp', T0, policy)));
      expect(last.map((s) => [s.failures, s.lockCount, s.lockedUntil?.getTime()]).sort((x, y) => x[0]! - y[0]!))
        .to.deep.equal([[10, 1, at(60_000).getTime()], [11, 2, at(120_000).getTime()], [12, 3, at(240_000).getTime()]]);
      expect(await b.attempts.get(u.id, 'totp', T0)).to.deep.equal({ failures: 12, lockedUntil: at(240_000), lockCount: 3, decayFrom: T0 });
    });

    it('a token removed through one is in the revocation feed both read, late commits included', async () => {
      const u = await makeUser(a, 'rev');
      await a.loginTokens.insert({ hashedToken: 'seen-late', userId: u.id, createdAt: T0, expiresAt: null });
      await a.loginTokens.insert({ hashedToken: 'quick', userId: u.id, createdAt: T0, expiresAt: null });
      const start = await b.revocations.latestSeq();
      // A transaction takes a seq first and commits after a later one was read.
      const slow = await admin!.connect();
      try {
        await slow.query('BEGIN');
        await slow.query(`DELETE FROM "${schema}".login_tokens WHERE hashed_token = 'seen-late'`);
        await a.loginTokens.remove('quick');
        const first = await b.revocations.since(start, 100);
        expect(first.map((r) => r.hashedToken)).to.deep.equal(['quick']);
        await slow.query('COMMIT');
        const again = await b.revocations.since(first[0]!.seq, 100);
        expect(again.map((r) => r.hashedToken)).to.include('seen-late');
      } finally {
        slow.release();
      }
    });
  });

  describe('migrations', () => {
    it('are recorded once; reopening applies nothing and keeps the data', async () => {
      const schema = freshSchema();
      const first = await open(schema);
      const u = await makeUser(first, 'keep');
      await first.close();
      const applied = await appliedPgMigrations(admin!, schema);
      expect(applied.map((m) => m.version)).to.deep.equal(PG_MIGRATIONS.map((m) => m.version));
      const again = await open(schema);
      expect(await appliedPgMigrations(admin!, schema)).to.deep.equal(applied);
      expect((await again.users.findById(u.id))?.username).to.equal('keep');
    });

    it('are safe when several stores open one new schema at once', async () => {
      const schema = freshSchema();
      const opened = await Promise.all(Array.from({ length: 4 }, () => open(schema)));
      const applied = await appliedPgMigrations(admin!, schema);
      expect(applied.map((m) => m.version)).to.deep.equal(PG_MIGRATIONS.map((m) => m.version));
      const u = await makeUser(opened[3]!, 'race');
      expect((await opened[0]!.users.findById(u.id))?.username).to.equal('race');
    });

    it('refuse a schema from a newer ddp-guard', async () => {
      const schema = freshSchema();
      await open(schema);
      await admin!.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'future')`);
      const err = await rejection(createPostgresStore({ url: PG_URL, schema }));
      expect((err as Error).message).to.match(/version 999/);
    });
  });

  describe('store', () => {
    it('keeps every step of the lock-out schedule exactly as nextAttemptState computes it', async () => {
      const s = await open();
      const u = await makeUser(s, 'sched');
      const policies: AttemptPolicy[] = [
        // Uncapped in practice: reaches the 2^40 clamp of the doubling.
        { maxFailures: 1, baseLockMs: 1, maxLockMs: 2 ** 52, decayMs: 3_600_000 },
        { maxFailures: 3, baseLockMs: 7_777, maxLockMs: 500_000, decayMs: 2_500 },
        { maxFailures: 2, baseLockMs: 60_000, maxLockMs: 60_000, decayMs: 1_000 },
      ];
      for (const [i, policy] of policies.entries()) {
        const factor = `f${i}`;
        let expected: AttemptState = { failures: 0, lockedUntil: null, lockCount: 0, decayFrom: null };
        // 45 failures with maxFailures 1 passes the 40-doubling clamp.
        for (let n = 0; n < 45; n++) {
          const now = at(n * 1_000);
          expected = nextAttemptState(expected, now, policy);
          const got = await s.attempts.recordFailure(u.id, factor, now, policy);
          expect(got, `policy ${i}, failure ${n + 1}`).to.deep.equal(visibleAttemptState(expected, now));
        }
      }
    });

    it('keeps dates before 1970 and a NUL in JSON, and folds non-ASCII case like the other stores', async () => {
      const s = await open();
      const old = new Date('1969-07-20T20:17:40.123Z');
      const u = await s.users.create({ username: 'Ärger', emails: [], passwordHash: null, createdAt: old, profile: { s: 'a\u0000b' } });
      const found = await s.users.findByUsername('äRGER');
      expect(found?.createdAt).to.deep.equal(old);
      expect(found?.profile).to.deep.equal({ s: 'a\u0000b' });
      expect(((await rejection(s.users.create({ username: 'äRGER', emails: [], passwordHash: null }))) as StoreConflictError).field)
        .to.equal('username');
      await s.audit.append({ at: old, userId: u.id, action: 'x', clientAddress: null, userAgent: null, details: { nul: '\u0000' } });
      const [entry] = await s.audit.list({ since: new Date(-1e12) });
      expect(entry).to.deep.include({ at: old, details: { nul: '\u0000' } });
    });

    it('fails with StoreUnavailableError when a row lock outlasts statementTimeoutMs, writing nothing', async () => {
      const schema = freshSchema();
      const s = await open(schema, { statementTimeoutMs: 300 });
      const u = await makeUser(s, 'slow');
      await s.twoFactor.recordTotpStep(u.id, 10);
      const holder = await admin!.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT * FROM "${schema}".two_factor WHERE user_id = $1 FOR UPDATE`, [u.id]);
        const started = Date.now();
        const err = await rejection(s.twoFactor.recordTotpStep(u.id, 11));
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as Error).message).to.match(/statementTimeoutMs \(300 ms\)/).and.match(/[Rr]etry/);
        expect(Date.now() - started).to.be.at.least(250).and.below(5_000);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      expect((await s.twoFactor.get(u.id)).lastTotpStep).to.equal(10);
      expect(await s.twoFactor.recordTotpStep(u.id, 11)).to.equal(true);
    });

    it('survives its connection being killed mid-transaction: StoreUnavailableError, then recovers', async () => {
      const schema = freshSchema();
      const s = await open(schema);
      const u = await makeUser(s, 'killed');
      await s.twoFactor.setPendingTotpSecret(u.id, 'cipher');
      const holder = await admin!.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT * FROM "${schema}".two_factor WHERE user_id = $1 FOR UPDATE`, [u.id]);
        const blocked = rejection(s.twoFactor.enableTotp(u.id, ['b1']));
        // The store's backend is the one waiting for a lock on this test's own schema.
        let pid: number | undefined;
        for (let i = 0; i < 100 && pid === undefined; i++) {
          const { rows } = await admin!.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%"${schema}".two_factor%`]);
          pid = rows[0]?.pid;
          if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
        }
        expect(pid, 'the blocked backend').to.be.a('number');
        await admin!.query('SELECT pg_terminate_backend($1)', [pid]);
        const err = await blocked;
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as Error).message).to.match(/57P01/).and.match(/check/);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      // Nothing half-done, and the pool replaced the dead connection.
      expect((await s.twoFactor.get(u.id)).totpEnabled).to.equal(false);
      expect(await s.twoFactor.enableTotp(u.id, ['b1'])).to.equal(true);
    });

    it('reports a server that is not there as StoreUnavailableError saying what to check', async () => {
      // Port 1 on the loopback: nothing listens, the connection is refused at once.
      const err = await rejection(createPostgresStore({ url: 'postgres://postgres:secret@127.0.0.1:1/test', connectTimeoutMs: 2_000 }));
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as Error).message).to.include('127.0.0.1:1/test').and.match(/check/).and.not.include('secret');
    });

    it('reports a missing database as StoreUnavailableError naming it', async () => {
      const err = await rejection(createPostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/no_such_db_ddpguard' }));
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as Error).message).to.include('no_such_db_ddpguard').and.match(/does not exist/);
    });

    it('rejects a schema name that would need quoting, and bad numbers', async () => {
      for (const schema of ['Upper', 'a-b', 'x"; DROP TABLE y; --', '', 'a'.repeat(64)]) {
        expect(await rejection(createPostgresStore({ url: PG_URL, schema }))).to.be.instanceOf(RangeError);
      }
      expect(await rejection(createPostgresStore({ url: PG_URL, poolSize: 0 }))).to.be.instanceOf(RangeError);
      expect(await rejection(createPostgresStore({ url: PG_URL, statementTimeoutMs: 1.5 }))).to.be.instanceOf(RangeError);
    });
  });

  describe('call results commit without waiting for the WAL flush', () => {
    it('relaxes only each statement\'s own transaction: the connection keeps synchronous_commit on, and a store transaction is not relaxed', async () => {
      const schema = freshSchema();
      await open(schema); // creates the schema and its tables
      const ctx = createPgContext(resolvePostgresOptions({ url: PG_URL, schema, poolSize: 1 }));
      try {
        const results = pgCallResultStore(ctx);
        const now = new Date();
        const later = new Date(now.getTime() + 60_000);
        const setting = async (): Promise<string> => (await ctx.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit;
        expect(await results.claim('u1', 's1', now, later)).to.deep.equal({ state: 'claimed' });
        expect(await results.complete('u1', 's1', 'sealed')).to.equal(true);
        expect(await results.claim('u1', 's2', now, later)).to.deep.equal({ state: 'claimed' });
        await results.release('u1', 's2');
        // One connection in the pool: the statements above ran on the one asked here.
        expect(await setting()).to.equal('on');
        expect(await results.get('u1', 's1', now)).to.deep.equal({ state: 'done', outcome: 'sealed' });
        expect(await results.get('u1', 's2', now)).to.equal(null);
        // Inside a store transaction the statements run plainly: its commit keeps its guarantee.
        await ctx.storeTransaction(async () => {
          expect(await results.claim('u1', 's3', now, later)).to.deep.equal({ state: 'claimed' });
          expect(await results.complete('u1', 's3', 'in a transaction')).to.equal(true);
          expect(await setting()).to.equal('on');
        });
        expect(await results.get('u1', 's3', now)).to.deep.equal({ state: 'done', outcome: 'in a transaction' });
      } finally {
        await ctx.close();
      }
    });
  });

  describe('openStore', () => {
    it('opens PostgreSQL for postgres:// and postgresql://, in the schema the URL names', async () => {
      const schema = freshSchema();
      schemas.push(schema);
      for (const scheme of ['postgres', 'postgresql']) {
        const s = await openStore(`${scheme}://postgres@127.0.0.1:5432/test?schema=${schema}`);
        stores.push(s);
        expect(s.kind).to.equal('postgres');
        await makeUser(s, scheme);
      }
      const { rows } = await admin!.query<{ username: string }>(`SELECT username FROM "${schema}".users ORDER BY seq`);
      expect(rows.map((r) => r.username)).to.deep.equal(['postgres', 'postgresql']);
    });
  });
});
