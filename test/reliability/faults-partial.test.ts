/**
 * "Nothing half-written", write by write: the store fails (StoreUnavailableError, as when
 * SQLite stays locked) at the k-th write of one account change, for every k the change makes,
 * once before the real write and once right after it. Each time the client gets 503, never
 * 500, and the database is exactly as before the call or exactly as after a healthy one —
 * never in between — and the user can then finish what they started.
 *
 * "As after" is compared by shape (how many rows each table gained and lost, measured against
 * the state just before the call), because tokens, ids and codes are random in each run.
 *
 * The guard's own records — failed attempts, known addresses, and in the scenarios where the
 * guard checks a code, the code it spent — are written while the caller is checked, before the
 * change and outside it on purpose: rolling them back would give a guess or a spent code back.
 * Each of those tables must itself be as before or as after, on its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { createSqliteStore } from '../../server/storage/sqlite/index.js';
import { STORE_UNAVAILABLE } from '../../server/calls/wire-errors.js';
import { codeHash } from '../../server/two-factor/factors.js';
import { passwordAnswer, passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';
import { FaultyStore, type FaultMode } from './fault-store.js';

/** Tables (or `table.column`) the guard writes while checking the caller, outside the change. */
const GUARD_RECORDS = ['attempts', 'address_attempts', 'known_addresses'];

type State = Record<string, unknown>;

interface Scenario {
  name: string;
  options?: Record<string, unknown>;
  /** Guard records this call writes besides {@link GUARD_RECORDS} (the code it spends). */
  spends?: string[];
  /** Prepare a user and a connection; returns what `call` and `recover` need. */
  setup(fx: Fixture): Promise<{ client: TestClient; state: State }>;
  call(fx: Fixture, client: TestClient, state: State): Promise<Msg>;
  /** After the failure, with the store healthy: the user can finish what they started. */
  recover(fx: Fixture, client: TestClient, state: State): Promise<void>;
}

/** The retry of the call succeeds. */
const retrySucceeds = async (fx: Fixture, client: TestClient, state: State, scenario: Scenario): Promise<Msg> => {
  const retry = await scenario.call(fx, client, state);
  expect(retry.error, `retry: ${JSON.stringify(retry.error)}`).to.equal(undefined);
  return retry;
};

/** A user logged in with TOTP enrolled (secret and backup codes in the state). */
async function enrolled(fx: Fixture, name: string): Promise<{ client: TestClient; state: State }> {
  await fx.user(name);
  const { client } = await fx.login(name);
  const { secret, codes } = await fx.enrolTotp(client);
  return { client, state: { secret, codes } };
}

const SCENARIOS: Scenario[] = [
  {
    name: '2fa:validateTempToken (enrolment)',
    async setup(fx) {
      await fx.user('alice');
      const { client } = await fx.login('alice');
      // Another session (a stolen one, say): enrolling must end it.
      const other = await fx.login('alice');
      const { secret } = (await client.ok('2fa:enable', passwordAnswer('alice'))) as { secret: string };
      return { client, state: { secret, otherToken: other.token } };
    },
    async call(fx, client, state) {
      return (await client.call('2fa:validateTempToken', fx.nextTotp(state.secret as string))).msg;
    },
    async recover(fx, client, state) {
      const retry = await retrySucceeds(fx, client, state, this);
      expect((retry.result as Msg).codes).to.have.length(12);
      const probe = await fx.connect();
      expect((await probe.fails('login', { resume: state.otherToken })).error, 'the other session is ended').to.equal(403);
    },
  },
  {
    name: '2fa:enable',
    async setup(fx) {
      await fx.user('amy');
      return { client: (await fx.login('amy')).client, state: {} };
    },
    async call(_fx, client) {
      return (await client.call('2fa:enable', passwordAnswer('amy'))).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
    },
  },
  {
    name: '2fa:disable',
    spends: ['two_factor.last_totp_step'],
    setup: (fx) => enrolled(fx, 'abe'),
    async call(fx, client, state) {
      return (await client.call('2fa:disable', fx.nextTotp(state.secret as string))).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
      expect(((await client.ok('2fa:enable', passwordAnswer('abe'))) as Msg).secret, 'enrolling again needs only the password').to.be.a('string');
    },
  },
  {
    name: '2fa:regenerateCodes',
    spends: ['two_factor.last_totp_step'],
    setup: (fx) => enrolled(fx, 'ada'),
    async call(fx, client, state) {
      return (await client.call('2fa:regenerateCodes', fx.nextTotp(state.secret as string))).msg;
    },
    async recover(fx, client, state) {
      const fresh = ((await retrySucceeds(fx, client, state, this)).result as Msg).codes as string[];
      expect(await client.ok('app.strict', totpAnswer(fresh[0]!))).to.equal('strict');
    },
  },
  {
    name: '2fa:enableEmail',
    async setup(fx) {
      await fx.user('bea');
      return { client: (await fx.login('bea')).client, state: {} };
    },
    async call(_fx, client) {
      return (await client.call('2fa:enableEmail', passwordAnswer('bea'))).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
    },
  },
  {
    name: '2fa:disableEmail',
    // The email code the guard checks is spent whatever happens next.
    spends: ['codes'],
    async setup(fx) {
      await fx.user('ben');
      const { client } = await fx.login('ben');
      await client.ok('2fa:enableEmail', passwordAnswer('ben'));
      await client.ok('2fa:sendEmailCode', 'ben');
      return { client, state: { code: await fx.emailCode('ben@example.com') } };
    },
    async call(_fx, client, state) {
      return (await client.call('2fa:disableEmail', { twoFactorCode: state.code, twoFactorMethod: 'email' })).msg;
    },
    async recover(fx, client) {
      fx.clock.advance(61_000);
      await client.ok('2fa:sendEmailCode', 'ben');
      const code = await fx.emailCode('ben@example.com', 2);
      const retry = (await client.call('2fa:disableEmail', { twoFactorCode: code, twoFactorMethod: 'email' })).msg;
      // Disabled now, or it already was (then email is no factor any more: the code is not asked).
      expect(retry.error, `retry: ${JSON.stringify(retry.error)}`).to.equal(undefined);
    },
  },
  {
    name: 'personalAccessTokens:generateToken',
    async setup(fx) {
      await fx.user('bob');
      return { client: (await fx.login('bob')).client, state: {} };
    },
    async call(_fx, client) {
      return (await client.call('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('bob'))).msg;
    },
    async recover(fx, client, state) {
      // The name was not used up, and the token works.
      const token = (await retrySucceeds(fx, client, state, this)).result as string;
      const other = await fx.connect();
      expect(((await other.ok('login', { resume: token })) as Msg).type).to.equal('resume');
    },
  },
  {
    name: 'personalAccessTokens:regenerateToken',
    async setup(fx) {
      await fx.user('bud');
      const { client } = await fx.login('bud');
      const old = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('bud'))) as string;
      return { client, state: { old } };
    },
    async call(_fx, client) {
      return (await client.call('personalAccessTokens:regenerateToken', { tokenName: 'ci' }, passwordAnswer('bud'))).msg;
    },
    async recover(fx, client, state) {
      const token = (await retrySucceeds(fx, client, state, this)).result as string;
      const other = await fx.connect();
      expect(((await other.ok('login', { resume: token })) as Msg).type).to.equal('resume');
      expect((await other.fails('login', { resume: state.old })).error, 'the old token is revoked').to.equal(403);
    },
  },
  {
    name: 'personalAccessTokens:removeToken',
    async setup(fx) {
      await fx.user('cal');
      const { client } = await fx.login('cal');
      const old = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('cal'))) as string;
      return { client, state: { old } };
    },
    async call(_fx, client) {
      return (await client.call('personalAccessTokens:removeToken', { tokenName: 'ci' }, passwordAnswer('cal'))).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
      expect((await (await fx.connect()).fails('login', { resume: state.old })).error).to.equal(403);
    },
  },
  {
    name: 'changePassword',
    async setup(fx) {
      await fx.user('cid');
      const { client } = await fx.login('cid');
      const other = await fx.login('cid');
      return { client, state: { otherToken: other.token } };
    },
    async call(_fx, client) {
      return (await client.call('changePassword', 'pw-cid', 'a fresh long password 42', passwordAnswer('cid'))).msg;
    },
    async recover(fx, client) {
      // Changed, or the retry changes it: the new password signs in, the other session is over.
      const retry = (await client.call('changePassword', 'pw-cid', 'a fresh long password 42', passwordAnswer('cid'))).msg;
      expect(retry.error === undefined || retry.error.reason === 'Incorrect password', `retry: ${JSON.stringify(retry.error)}`).to.equal(true);
      const probe = await fx.connect();
      expect(((await probe.ok('login', { user: { username: 'cid' }, password: 'a fresh long password 42' })) as Msg).type).to.equal('password');
    },
  },
  {
    name: 'resetPassword',
    async setup(fx) {
      const user = await fx.user('dan');
      const token = 'reset-token-of-dan';
      await fx.services.store.codes.put({ userId: user.id, purpose: 'reset-password', codeHash: codeHash(fx.services, 'reset-password', token), createdAt: new Date(fx.clock.now()), expiresAt: new Date(fx.clock.now() + 3_600_000), data: 'dan@example.com' });
      const other = await fx.login('dan');
      return { client: await fx.connect(), state: { token, otherToken: other.token } };
    },
    async call(_fx, client, state) {
      return (await client.call('resetPassword', state.token, 'a fresh long password 42')).msg;
    },
    async recover(fx, client, state) {
      // The link was not spent by the failure: it still resets the password.
      await retrySucceeds(fx, client, state, this);
      expect((await (await fx.connect()).fails('login', { resume: state.otherToken })).error).to.equal(403);
    },
  },
  {
    name: 'verifyEmail',
    async setup(fx) {
      const user = await fx.user('deb', { verified: false });
      const token = 'verify-token-of-deb';
      await fx.services.store.codes.put({ userId: user.id, purpose: 'verify-email', codeHash: codeHash(fx.services, 'verify-email', token), createdAt: new Date(fx.clock.now()), expiresAt: new Date(fx.clock.now() + 3_600_000), data: 'deb@example.com' });
      return { client: await fx.connect(), state: { token } };
    },
    async call(_fx, client, state) {
      return (await client.call('verifyEmail', state.token)).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
    },
  },
  {
    name: 'createUser (sign-up)',
    options: { signup: true },
    async setup(fx) {
      return { client: await fx.connect(), state: {} };
    },
    async call(_fx, client) {
      return (await client.call('createUser', { username: 'newcomer', password: 'pw-newcomer' })).msg;
    },
    async recover(fx, client, state) {
      // Nothing was created: the retry creates the account and signs in.
      expect(((await retrySucceeds(fx, client, state, this)).result as Msg).type).to.equal('password');
    },
  },
  {
    name: 'getNewToken',
    async setup(fx) {
      await fx.user('eli');
      const session = await fx.login('eli');
      return { client: session.client, state: { token: session.token } };
    },
    async call(_fx, client) {
      return (await client.call('getNewToken')).msg;
    },
    async recover(fx, client, state) {
      // The old token still works (nothing changed), so the retry is made with it.
      const fresh = (await retrySucceeds(fx, client, state, this)).result as Msg;
      expect((await (await fx.connect()).fails('login', { resume: state.token })).error).to.equal(403);
      expect(((await (await fx.connect()).ok('login', { resume: fresh.token })) as Msg).type).to.equal('resume');
    },
  },
  {
    name: 'login with a TOTP code',
    spends: ['two_factor.last_totp_step'],
    async setup(fx) {
      const { client, state } = await enrolled(fx, 'carol');
      client.close();
      return { client: await fx.connect(), state };
    },
    async call(fx, client, state) {
      return (await client.call('login', { totp: { login: passwordLogin('carol'), code: fx.nextTotp(state.secret as string) } })).msg;
    },
    async recover(fx, client, state) {
      await retrySucceeds(fx, client, state, this);
    },
  },
  {
    name: 'a guarded call paid with a backup code',
    spends: ['backup_codes'],
    setup: (fx) => enrolled(fx, 'dave'),
    async call(_fx, client, state) {
      return (await client.call('app.strict', totpAnswer((state.codes as string[])[0]!))).msg;
    },
    async recover(_fx, client, state) {
      // The next backup code works (a code spent by the failed call is simply gone).
      expect(await client.ok('app.strict', totpAnswer((state.codes as string[])[1]!))).to.equal('strict');
    },
  },
];

/** Every row of every table, as JSON lines per table; `table.column` entries are split out. */
function dump(file: string, split: readonly string[]): Map<string, string[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all() as { name: string }[]).map((t) => t.name);
    const out = new Map<string, string[]>();
    for (const table of tables) {
      const rows = db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
      const columns = split.filter((s) => s.startsWith(`${table}.`)).map((s) => s.slice(table.length + 1));
      out.set(table, rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !columns.includes(k))))));
      for (const column of columns) out.set(`${table}.${column}`, rows.map((r) => JSON.stringify([r.user_id, r[column]])));
    }
    return out;
  } finally {
    db.close();
  }
}

/** Per table: rows gained and lost from `before` to `now` (`+a-b`), only tables that changed. */
function shape(before: Map<string, string[]>, now: Map<string, string[]>, tables: (t: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [table, rows] of now) {
    if (!tables(table)) continue;
    const left = [...(before.get(table) ?? [])];
    let gained = 0;
    for (const row of rows) {
      const i = left.indexOf(row);
      if (i >= 0) left.splice(i, 1);
      else gained++;
    }
    if (gained > 0 || left.length > 0) out[table] = `+${gained}-${left.length}`;
  }
  return out;
}

function expect503(msg: Msg, what: string): void {
  expect(msg.error, `${what}: ${JSON.stringify(msg)}`).to.deep.include({ error: STORE_UNAVAILABLE.error, reason: STORE_UNAVAILABLE.reason, isClientSafe: true });
}

describe('reliability: the store failing at each write of an account change', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  afterEach(stopFixtures);
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A fixture on a fresh SQLite file wrapped in a FaultyStore, with the scenario set up. */
  async function prepare(scenario: Scenario): Promise<{ fx: Fixture; faulty: FaultyStore; file: string; client: TestClient; state: State }> {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-guard-partial-'));
    dirs.push(dir);
    const file = join(dir, 'guard.db');
    const faulty = new FaultyStore(createSqliteStore({ file }));
    const fx = await startFixture({ ...scenario.options, store: faulty.store });
    const { client, state } = await scenario.setup(fx);
    return { fx, faulty, file, client, state };
  }

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: 503 at every write, the database as before or as after, and the user can finish`, async () => {
      const guardRecords = [...GUARD_RECORDS, ...(scenario.spends ?? [])];
      const isGuard = (t: string): boolean => guardRecords.includes(t);
      const split = guardRecords.filter((t) => t.includes('.'));
      // A healthy call: its writes, and the shape of "after".
      let run = await prepare(scenario);
      let before = dump(run.file, split);
      const healthy = await run.faulty.during(0, 'before', () => scenario.call(run.fx, run.client, run.state));
      expect(healthy.error, `the healthy call: ${JSON.stringify(healthy.error)}`).to.equal(undefined);
      const writes = [...run.faulty.seen];
      const afterAccount = shape(before, dump(run.file, split), (t) => !isGuard(t));
      const afterGuard = shape(before, dump(run.file, split), isGuard);
      await stopFixtures();
      expect(writes.length).to.be.greaterThan(0);
      expect(Object.keys(afterAccount), 'the healthy call changes the account').to.not.deep.equal([]);

      for (let k = 1; k <= writes.length; k++) {
        for (const mode of ['before', 'after'] as FaultMode[]) {
          const what = `failing ${mode} write ${k} of ${writes.length} (${writes[k - 1]})`;
          run = await prepare(scenario);
          before = dump(run.file, split);
          const msg = await run.faulty.during(k, mode, () => scenario.call(run.fx, run.client, run.state));
          expect503(msg, what);
          const now = dump(run.file, split);
          const account = shape(before, now, (t) => !isGuard(t));
          expect([{}, afterAccount], `${what}: the account is half-changed: ${JSON.stringify(account)}`).to.deep.include(account);
          for (const table of guardRecords) {
            const one = shape(before, now, (t) => t === table);
            const whole = afterGuard[table] === undefined ? {} : { [table]: afterGuard[table] };
            expect([{}, whole], `${what}: the guard's ${table}`).to.deep.include(one);
          }
          await scenario.recover(run.fx, run.client, run.state).catch((err: Error) => {
            throw new Error(`${what}; then the user is stuck: ${err.message}`);
          });
          await stopFixtures();
        }
      }
    });
  }
});
