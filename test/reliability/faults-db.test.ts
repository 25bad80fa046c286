/**
 * Issue 7, database faults: another connection holds `BEGIN IMMEDIATE` on the SQLite file, and
 * the store's busy timeout is small (`createSqliteStore({file, busyTimeoutMs: 100})`, passed
 * as `createServer({store})`). A method that writes gets 503 `Service unavailable, try again
 * later` after a bounded wait — not a 500 with the raw error —, nothing of it is written, reads
 * still work, and the same call succeeds once the lock is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { createSqliteStore } from '../../server/storage/sqlite/index.js';
import type { Store } from '../../server/storage/contract.js';
import { STORE_UNAVAILABLE } from '../../server/calls/wire-errors.js';
import { captureLogger, type CapturedLogger } from '../helpers/server.js';
import { passwordAnswer, passwordLogin, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';

const BUSY_TIMEOUT_MS = 100;

describe('reliability: the SQLite database busy or locked', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let store: Store;
  let fx: Fixture;
  let logs: CapturedLogger;
  let locker: Database.Database;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-busy-'));
    file = path.join(dir, 'guard.sqlite');
    store = createSqliteStore({ file, busyTimeoutMs: BUSY_TIMEOUT_MS });
    logs = captureLogger();
    fx = await startFixture({ store, signup: true, logger: logs.logger });
    locker = new Database(file);
    locker.pragma('busy_timeout = 0');
  });
  afterEach(async () => {
    if (locker.inTransaction) locker.exec('ROLLBACK');
    locker.close();
    await stopFixtures();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const lock = (): void => {
    locker.exec('BEGIN IMMEDIATE');
  };
  const unlock = (): void => {
    locker.exec('ROLLBACK');
  };
  const count = (sql: string, ...args: unknown[]): number => (locker.prepare(sql).get(...args) as { n: number }).n;

  /** Call during the lock: 503 after a bounded wait, logged once as an error. */
  async function refused(client: TestClient, method: string, ...params: unknown[]): Promise<void> {
    const started = Date.now();
    const { msg } = await client.call(method, ...params);
    const elapsed = Date.now() - started;
    const error = msg.error as Msg | undefined;
    expect(error, `${method} during the lock: ${JSON.stringify(msg)}`).to.not.equal(undefined);
    expect(error).to.deep.equal({
      isClientSafe: true,
      error: STORE_UNAVAILABLE.error,
      reason: STORE_UNAVAILABLE.reason,
      message: `${STORE_UNAVAILABLE.reason} [${STORE_UNAVAILABLE.error}]`,
      errorType: 'Meteor.Error',
    });
    expect(elapsed, 'a bounded wait').to.be.lessThan(BUSY_TIMEOUT_MS * 20);
    // The raw SQLite error is logged for the operator, never sent.
    const line = logs.lines.find((l) => l.level === 'error' && /store is unavailable/.test(l.message));
    expect(line, `the refusal of ${method} is logged`).to.not.equal(undefined);
    expect(JSON.stringify(line!.fields)).to.match(/SQLITE_BUSY|locked/i);
    logs.lines.length = 0;
  }

  it('login: 503 after a bounded wait, no login token written; works after the lock', async () => {
    const user = await fx.user('alice');
    const client = await fx.connect();
    lock();
    await refused(client, 'login', passwordLogin('alice'));
    expect(count('SELECT count(*) AS n FROM login_tokens WHERE user_id = ?', user.id)).to.equal(0);
    unlock();
    const result = (await client.ok('login', passwordLogin('alice'))) as Msg;
    expect(result.id).to.equal(user.id);
    expect(count('SELECT count(*) AS n FROM login_tokens WHERE user_id = ?', user.id)).to.equal(1);
  });

  it('createUser: 503, no user and no email row; the same sign-up works after the lock', async () => {
    const client = await fx.connect();
    const request = { username: 'newcomer', email: 'newcomer@example.com', password: 'a long password' };
    lock();
    await refused(client, 'createUser', request);
    expect(count("SELECT count(*) AS n FROM users WHERE username = 'newcomer'")).to.equal(0);
    expect(count("SELECT count(*) AS n FROM user_emails WHERE address = 'newcomer@example.com'")).to.equal(0);
    unlock();
    const result = (await client.ok('createUser', request)) as Msg;
    expect(result.type).to.equal('password');
    expect(count("SELECT count(*) AS n FROM users WHERE username = 'newcomer'")).to.equal(1);
  });

  it('2fa:validateTempToken: 503, TOTP not enabled and no backup codes; the same code confirms it after the lock', async () => {
    const user = await fx.user('bob');
    const { client } = await fx.login('bob');
    const { secret } = (await client.ok('2fa:enable', passwordAnswer('bob'))) as { secret: string };
    const code = fx.totpNow(secret);
    lock();
    await refused(client, '2fa:validateTempToken', code);
    expect(count('SELECT count(*) AS n FROM two_factor WHERE user_id = ? AND totp_enabled = 1', user.id)).to.equal(0);
    expect(count('SELECT count(*) AS n FROM backup_codes WHERE user_id = ?', user.id)).to.equal(0);
    unlock();
    const { codes } = (await client.ok('2fa:validateTempToken', code)) as { codes: string[] };
    expect(codes).to.have.length(12);
    expect(count('SELECT count(*) AS n FROM backup_codes WHERE user_id = ?', user.id)).to.equal(12);
  });

  it('personalAccessTokens:generateToken: 503, no token row; reads still work during the lock; created after it', async () => {
    const user = await fx.user('carol');
    const { client } = await fx.login('carol');
    lock();
    await refused(client, 'personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('carol'));
    expect(count('SELECT count(*) AS n FROM personal_tokens WHERE user_id = ?', user.id)).to.equal(0);
    // WAL: readers are not blocked by the writer's lock.
    expect(await client.ok('personalAccessTokens:list')).to.deep.equal([]);
    unlock();
    expect(await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('carol'))).to.be.a('string');
    expect(count('SELECT count(*) AS n FROM personal_tokens WHERE user_id = ?', user.id)).to.equal(1);
  });

  it('the connection stays usable after a 503, and a lock held by another process is handled the same way', async () => {
    const user = await fx.user('dave');
    const client = await fx.connect();
    locker.close();
    // A second process holds the write lock for 1.5 s.
    const { spawn } = await import('node:child_process');
    const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const db = new D(${JSON.stringify(file)}); db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n'); setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 1500);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await refused(client, 'login', passwordLogin('dave'));
    await new Promise((resolve) => child.once('exit', resolve));
    locker = new Database(file);
    const result = (await client.ok('login', passwordLogin('dave'))) as Msg;
    expect(result.id).to.equal(user.id);
  });
});

