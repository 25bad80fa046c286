/**
 * The SQLite store against the storage contract, plus what only SQLite has: WAL, durability
 * pragmas, migrations, files, locking.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { Store } from '../../server/storage/contract.js';
import { StoreUnavailableError } from '../../server/storage/store-errors.js';
import { openStore } from '../../server/storage/open.js';
import { openSqlite } from '../../server/storage/sqlite/connection.js';
import { createSqliteStore } from '../../server/storage/sqlite/index.js';
import { sqliteCallResultStore } from '../../server/storage/sqlite/call-results.js';
import { applyMigrations, MIGRATIONS, type Migration } from '../../server/storage/sqlite/migrations.js';
import { storeContract } from './contract.js';
import { at, countWinners, makeUser, rejection, T0 } from './helpers.js';

const tempDirs: string[] = [];
/** A fresh directory under the OS temp dir, removed after the run. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-guard-store-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('sqlite', async () => createSqliteStore({ file: join(tempDir(), 'store.db') }));
storeContract('sqlite :memory:', async () => createSqliteStore({ file: ':memory:' }));

describe('sqlite store', () => {
  let file: string;
  const open: Store[] = [];
  const raw: Database.Database[] = [];
  /** Opens a store on `file`, closed after the test. */
  const store = (busyTimeoutMs?: number): Store => {
    const s = createSqliteStore(busyTimeoutMs === undefined ? { file } : { file, busyTimeoutMs });
    open.push(s);
    return s;
  };
  /** A second, plain connection to `file`, closed after the test. */
  const connect = (): Database.Database => {
    const db = new Database(file);
    raw.push(db);
    return db;
  };

  beforeEach(() => {
    file = join(tempDir(), 'guard.db');
  });
  afterEach(async () => {
    for (const db of raw.splice(0)) if (db.open) db.close();
    for (const s of open.splice(0)) await s.close();
  });

  it('turns on WAL, synchronous=FULL, foreign keys and the busy timeout', () => {
    const ctx = openSqlite({ file, busyTimeoutMs: 1234 });
    try {
      expect(ctx.db.pragma('journal_mode', { simple: true })).to.equal('wal');
      expect(ctx.db.pragma('synchronous', { simple: true })).to.equal(2); // FULL
      expect(ctx.db.pragma('foreign_keys', { simple: true })).to.equal(1);
      expect(ctx.db.pragma('busy_timeout', { simple: true })).to.equal(1234);
    } finally {
      ctx.db.close();
    }
    // WAL is a property of the file: another connection sees it.
    expect(connect().pragma('journal_mode', { simple: true })).to.equal('wal');
  });

  it('call results commit without an fsync but leave the connection at synchronous=FULL', async () => {
    const ctx = openSqlite({ file });
    const results = sqliteCallResultStore(ctx);
    try {
      expect((await results.claim('u1', 'seed', T0, at(60_000))).state).to.equal('claimed');
      expect(await results.complete('u1', 'seed', 'done')).to.equal(true);
      await results.release('u1', 'other');
      expect(await results.removeExpired(at(60_000))).to.equal(1);
      expect(ctx.db.pragma('synchronous', { simple: true })).to.equal(2); // FULL again
    } finally {
      ctx.db.close();
    }
  });

  it('creates missing parent directories', async () => {
    file = join(tempDir(), 'a', 'b', 'c', 'guard.db');
    await makeUser(store(), 'nest');
    expect(existsSync(file)).to.equal(true);
  });

  it('records migrations once; reopening applies nothing again', async () => {
    await store().close();
    const first = connect().prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    expect(first).to.have.length(MIGRATIONS.length);
    expect(first.map((r) => (r as { version: number }).version)).to.deep.equal(MIGRATIONS.map((m) => m.version));
    await store().close();
    await store().close();
    const again = connect().prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    expect(again).to.deep.equal(first);
  });

  it('applies a new migration on open, and rolls back a failing one entirely', () => {
    const db = connect();
    applyMigrations(db);
    const extra: Migration = { version: MIGRATIONS.length + 1, name: 'add notes', sql: 'CREATE TABLE notes (x INTEGER)' };
    applyMigrations(db, [...MIGRATIONS, extra]);
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).to.deep.equal({ v: extra.version });

    const broken: Migration = {
      version: extra.version + 1, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;',
    };
    expect(() => applyMigrations(db, [...MIGRATIONS, extra, broken])).to.throw(/no_such_table/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).to.equal(undefined);
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).to.deep.equal({ v: extra.version });
  });

  it('refuses a database from a newer schema version', () => {
    store();
    connect().prepare("INSERT INTO schema_migrations VALUES (999, 'future', 0)").run();
    expect(() => createSqliteStore({ file })).to.throw(/version 999/);
  });

  it('keeps data across close and reopen', async () => {
    let s = store();
    const u = await s.users.create({
      username: 'Durable', emails: [{ address: 'd@example.com', verified: true }], passwordHash: 'h', profile: { a: 1 },
    });
    await s.loginTokens.insert({ hashedToken: 'lt', userId: u.id, createdAt: T0, expiresAt: at(1000) });
    await s.twoFactor.setPendingTotpSecret(u.id, 'cipher');
    await s.twoFactor.enableTotp(u.id, ['b1', 'b2']);
    await s.twoFactor.recordTotpStep(u.id, 42);
    await s.audit.append({ at: T0, userId: u.id, action: 'x', clientAddress: null, userAgent: null, details: { k: 'v' } });
    await s.close();

    s = store();
    expect(await s.users.findByUsername('durable')).to.deep.equal(u);
    expect((await s.loginTokens.find('lt'))?.expiresAt).to.deep.equal(at(1000));
    expect(await s.twoFactor.get(u.id)).to.include({ totpEnabled: true, totpSecret: 'cipher', lastTotpStep: 42, backupCodesRemaining: 2 });
    expect(await s.twoFactor.recordTotpStep(u.id, 42)).to.equal(false);
    expect((await s.audit.list({}))[0]?.details).to.deep.equal({ k: 'v' });
  });

  it('fails a write with StoreUnavailableError after the busy timeout, writing nothing', async () => {
    const s = store(200);
    const u = await makeUser(s, 'locked');
    await s.twoFactor.recordTotpStep(u.id, 10);
    const other = connect();
    other.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      const err = await rejection(makeUser(s, 'blocked'));
      const waited = Date.now() - started;
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as Error).message).to.match(/locked/).and.match(/200 ms/).and.match(/[Rr]etry/);
      expect(waited).to.be.at.least(150).and.below(3000);
      expect(await rejection(s.twoFactor.recordTotpStep(u.id, 11))).to.be.instanceOf(StoreUnavailableError);
      // WAL: reads go on while another connection writes.
      expect((await s.users.findById(u.id))?.username).to.equal('locked');
    } finally {
      other.exec('ROLLBACK');
    }
    expect(await s.users.findByUsername('blocked')).to.equal(null);
    expect(await s.users.findByEmail('blocked@example.com')).to.equal(null);
    expect((await s.twoFactor.get(u.id)).lastTotpStep).to.equal(10);
    // Once the lock is gone the same write succeeds.
    expect((await makeUser(s, 'blocked')).username).to.equal('blocked');
  });

  it('stays atomic across two connections to one file', async () => {
    const a = store();
    const b = store();
    const u = await makeUser(a, 'shared');
    await a.twoFactor.replaceBackupCodes(u.id, ['one']);
    await a.codes.put({ userId: u.id, purpose: 'email-2fa', codeHash: 'c', createdAt: T0, expiresAt: at(600_000), data: null });
    const stores = [a, b];
    const pick = (i: number): Store => stores[i % 2]!;
    let i = 0;
    expect(await countWinners(10, () => pick(i++).twoFactor.recordTotpStep(u.id, 77))).to.equal(1);
    expect(await countWinners(10, () => pick(i++).twoFactor.consumeBackupCode(u.id, 'one'))).to.equal(1);
    expect(await countWinners(10, async () => (await pick(i++).codes.consume(u.id, 'email-2fa', 'c', T0)) !== null)).to.equal(1);
    const policy = { maxFailures: 100, baseLockMs: 60_000, maxLockMs: 600_000, decayMs: 3_600_000 };
    await Promise.all(Array.from({ length: 10 }, () => pick(i++).attempts.recordFailure(u.id, 'totp', T0, policy)));
    expect((await b.attempts.get(u.id, 'totp', T0)).failures).to.equal(10);
  });

  it('passes PRAGMA integrity_check and foreign_key_check after use', async () => {
    const s = store();
    const u = await makeUser(s, 'check');
    await s.personalTokens.insert({ hashedToken: 'p', userId: u.id, name: 'n', bypassTwoFactor: true, createdAt: T0, lastUsedAt: null });
    await s.codes.put({ userId: u.id, purpose: 'verify-email', codeHash: 'v', createdAt: T0, expiresAt: at(1), data: null });
    await s.users.remove(u.id);
    await s.close();
    const db = connect();
    expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
    expect(db.pragma('foreign_key_check')).to.deep.equal([]);
    expect(db.prepare('SELECT count(*) AS n FROM personal_tokens').get()).to.deep.equal({ n: 0 });
  });

  it('reports a file it cannot open as StoreUnavailableError', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    // The parent "directory" is a regular file.
    expect(() => createSqliteStore({ file: join(dir, 'not-a-dir', 'guard.db') })).to.throw();
    let err: unknown;
    try {
      createSqliteStore({ file: dir });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(StoreUnavailableError);
    expect((err as Error).message).to.include(dir);
  });

  it('rejects a negative busy timeout', () => {
    expect(() => createSqliteStore({ file, busyTimeoutMs: -1 })).to.throw(RangeError);
  });
});

describe('openStore', () => {
  it('opens SQLite for ":memory:" and for a path, memory for "memory"', async () => {
    const m = await openStore(':memory:');
    const f = await openStore(join(tempDir(), 'x', 'guard.db'));
    const mem = await openStore('memory');
    expect([m.kind, f.kind, mem.kind]).to.deep.equal(['sqlite', 'sqlite', 'memory']);
    await Promise.all([m.close(), f.close(), mem.close()]);
  });

  it('rejects an empty spec', async () => {
    expect(((await rejection(openStore('  '))) as Error).message).to.match(/empty/);
  });
});
