/**
 * Issue 7, "no half-written record", step by step: the store fails (StoreUnavailableError,
 * as when SQLite stays locked) at the k-th write of one call, for every k the call makes.
 * Each time the client gets 503, never 500, and the user is not left stuck: the same request,
 * retried once the store works, completes (or what it was creating is complete and usable,
 * with every security step done).
 *
 * KNOWN_HALF_WRITES lists the failures that do leave a half-done state today (see the issue 7
 * report): the test fails when one of them is fixed, so the entry is removed with the fix.
 */
import { expect } from 'chai';
import { createSqliteStore } from '../../server/storage/sqlite/index.js';
import { StoreUnavailableError } from '../../server/storage/store-errors.js';
import type { Store } from '../../server/storage/contract.js';
import { STORE_UNAVAILABLE } from '../../server/calls/wire-errors.js';
import { passwordAnswer, passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';

/** Store methods that write. */
const WRITES = new Set([
  'create', 'setPasswordHash', 'setEmailVerified', 'remove', 'insert', 'removeForUser', 'removeExpired', 'setTrust', 'replace', 'touch',
  'setPendingTotpSecret', 'enableTotp', 'disableTotp', 'recordTotpStep', 'replaceBackupCodes', 'consumeBackupCode', 'setEmailEnabled',
  'put', 'consume', 'recordFailure', 'reset', 'append',
]);

/** A store whose k-th write (while armed) throws StoreUnavailableError; it records the writes it saw. */
class FaultyStore {
  readonly store: Store;
  failAt = 0;
  seen: string[] = [];
  private armed = false;

  constructor(inner: Store) {
    const wrap = <T extends object>(part: T, partName: string): T => new Proxy(part, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string' || !WRITES.has(key)) return value;
        return (...args: unknown[]) => {
          if (this.armed) {
            this.seen.push(`${partName}.${key}`);
            if (this.seen.length === this.failAt) return Promise.reject(new StoreUnavailableError(`injected failure of ${partName}.${key}`));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const parts = ['users', 'loginTokens', 'personalTokens', 'twoFactor', 'codes', 'attempts', 'audit'] as const;
    const store = { ...inner } as Record<string, unknown>;
    for (const p of parts) store[p] = wrap(inner[p] as object, p);
    store.ping = () => inner.ping();
    store.close = () => inner.close();
    this.store = store as unknown as Store;
  }

  /** Run `fn` with the k-th write failing (k = 0: none fails, just count). */
  async during<T>(failAt: number, fn: () => Promise<T>): Promise<T> {
    this.failAt = failAt;
    this.seen = [];
    this.armed = true;
    try {
      return await fn();
    } finally {
      this.armed = false;
    }
  }
}

function expect503(msg: Msg, what: string): void {
  expect(msg.error, `${what}: ${JSON.stringify(msg)}`).to.deep.include({ error: STORE_UNAVAILABLE.error, reason: STORE_UNAVAILABLE.reason, isClientSafe: true });
}

/** Scenario name → the writes (1-based) whose failure leaves a half-done state today. */
const KNOWN_HALF_WRITES: Record<string, number[]> = {
  // TOTP is enabled (enableTotp) before the confirming code is spent, other sessions are
  // revoked and the audit is written: a failure after it leaves TOTP on, the user without the
  // backup codes, and — at write 2 or 3 — the other sessions still logged in; a retry answers
  // totp-already-enabled.
  '2fa:validateTempToken (enrolment)': [2, 3, 4],
  // The token is inserted, then the audit fails: the user never sees the token and its name
  // is taken (retry: error-token-already-exists).
  'personalAccessTokens:generateToken': [2],
};

interface Scenario {
  name: string;
  options?: Record<string, unknown>;
  /** Prepare a user and a connection; returns what `call` and `retry` need. */
  setup(fx: Fixture): Promise<{ client: TestClient; state: Record<string, unknown> }>;
  call(fx: Fixture, client: TestClient, state: Record<string, unknown>): Promise<Msg>;
  /** After the failure, with the store healthy: the user can finish what they started. */
  recover(fx: Fixture, client: TestClient, state: Record<string, unknown>): Promise<void>;
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
      return (await client.call('2fa:validateTempToken', fx.totpNow(state.secret as string))).msg;
    },
    async recover(fx, client, state) {
      // Nothing was enabled, and the next code confirms the enrolment with its backup codes.
      const retry = (await client.call('2fa:validateTempToken', fx.nextTotp(state.secret as string))).msg;
      expect(retry.error, `retry: ${JSON.stringify(retry.error)}`).to.equal(undefined);
      expect((retry.result as Msg).codes).to.have.length(12);
      const probe = await fx.connect();
      expect((await probe.fails('login', { resume: state.otherToken })).error, 'the other session is ended').to.equal(403);
    },
  },
  {
    name: 'personalAccessTokens:generateToken',
    async setup(fx) {
      await fx.user('bob');
      const { client } = await fx.login('bob');
      return { client, state: {} };
    },
    async call(_fx, client) {
      return (await client.call('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('bob'))).msg;
    },
    async recover(fx, client) {
      const retry = (await client.call('personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('bob'))).msg;
      expect(retry.error, `retry: ${JSON.stringify(retry.error)}`).to.equal(undefined);
      const token = retry.result as string;
      const other = await fx.connect();
      expect(((await other.ok('login', { resume: token })) as Msg).type).to.equal('resume');
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
    async recover(_fx, client) {
      // Retried: created now, or already complete and the password works.
      const retry = (await client.call('createUser', { username: 'newcomer', password: 'pw-newcomer' })).msg;
      if (retry.error) {
        expect(retry.error.reason).to.equal('Username already exists.');
        expect(((await client.ok('login', passwordLogin('newcomer'))) as Msg).type).to.equal('password');
      }
    },
  },
  {
    name: 'login with a TOTP code',
    async setup(fx) {
      await fx.user('carol');
      const { client } = await fx.login('carol');
      const { secret } = await fx.enrolTotp(client);
      client.close();
      return { client: await fx.connect(), state: { secret } };
    },
    async call(fx, client, state) {
      return (await client.call('login', { totp: { login: passwordLogin('carol'), code: fx.nextTotp(state.secret as string) } })).msg;
    },
    async recover(fx, client, state) {
      const retry = (await client.call('login', { totp: { login: passwordLogin('carol'), code: fx.nextTotp(state.secret as string) } })).msg;
      expect(retry.error, `retry: ${JSON.stringify(retry.error)}`).to.equal(undefined);
    },
  },
  {
    name: 'a guarded call paid with a backup code',
    async setup(fx) {
      await fx.user('dave');
      const { client } = await fx.login('dave');
      const { codes } = await fx.enrolTotp(client);
      return { client, state: { codes } };
    },
    async call(_fx, client, state) {
      return (await client.call('app.strict', totpAnswer((state.codes as string[])[0]!))).msg;
    },
    async recover(_fx, client, state) {
      // The next backup code works (a code spent by the failed call is simply gone).
      expect(await client.ok('app.strict', totpAnswer((state.codes as string[])[1]!))).to.equal('strict');
    },
  },
];

describe('reliability: the store failing at each write of a call', function () {
  this.timeout(60_000);
  afterEach(stopFixtures);

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: 503 at every write, and the user can finish afterwards`, async () => {
      // Count the writes of a healthy call.
      let faulty = new FaultyStore(createSqliteStore({ file: ':memory:' }));
      let fx = await startFixture({ ...scenario.options, store: faulty.store });
      let { client, state } = await scenario.setup(fx);
      const healthy = await faulty.during(0, () => scenario.call(fx, client, state));
      expect(healthy.error, `the healthy call: ${JSON.stringify(healthy.error)}`).to.equal(undefined);
      const writes = [...faulty.seen];
      await stopFixtures();
      expect(writes.length).to.be.greaterThan(0);
      const stuck: number[] = [];
      const why: string[] = [];
      for (let k = 1; k <= writes.length; k++) {
        faulty = new FaultyStore(createSqliteStore({ file: ':memory:' }));
        fx = await startFixture({ ...scenario.options, store: faulty.store });
        ({ client, state } = await scenario.setup(fx));
        const msg = await faulty.during(k, () => scenario.call(fx, client, state));
        expect503(msg, `failing write ${k} (${writes[k - 1]})`);
        try {
          await scenario.recover(fx, client, state);
        } catch (err) {
          stuck.push(k);
          why.push(`write ${k} of ${writes.length} (${writes[k - 1]}) failed; then ${(err as Error).message.replace(/: expected .*$/s, '').slice(0, 160)}`);
        }
        await stopFixtures();
      }
      console.log(`      writes: ${writes.join(', ')}${stuck.length ? `\n      half-done when failing at: ${why.join('\n        ')}` : ''}`);
      expect(stuck, `half-done calls (update KNOWN_HALF_WRITES when one is fixed):\n${why.join('\n')}`).to.deep.equal(KNOWN_HALF_WRITES[scenario.name] ?? []);
    });
  }
});
