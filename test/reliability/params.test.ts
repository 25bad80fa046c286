/**
 * Issue 7: the parameters of every built-in method are validated. For each built-in (the list
 * comes from the server's registry, so a new built-in without a row here fails), calls with
 * wrong types, too-long strings, extra parameters and objects with extra keys get 400
 * `Match failed` (or, where the row says so, another specific client-safe error) — never 500,
 * never a success.
 *
 * Each row gives one valid argument list; the cases are derived from it: every parameter and
 * every leaf inside it replaced by values of other types (EJSON types included), every string
 * leaf made 10 000 characters long, an extra key in every object, an extra parameter. Guarded
 * methods get the password-fallback answer appended, so the call reaches the parameter check;
 * then every case runs once more without it, where `totp-required` is a fine answer too.
 */
import { expect } from 'chai';
import { sha256Hex } from '../../server/security/crypto.js';
import { passwordAnswer, passwordOf, startFixture, stopFixtures, type Fixture } from '../two-factor/fixture.js';
import type { TestClient, Msg } from '../two-factor/client.js';

interface Row {
  /** A valid argument list (never sent as is). */
  valid: unknown[];
  /** The method is guarded: append the 2FA answer to reach the parameter check. */
  guarded?: boolean;
  /** Specific client-safe errors accepted besides 400 `Match failed`. */
  alsoAccepted?: readonly { error: number | string; reason: string }[];
  /** Hand-written cases, on top of the derived ones. */
  cases?: unknown[][];
}

const DIGEST = sha256Hex(passwordOf('alice'));
const PASSWORD = { digest: DIGEST, algorithm: 'sha-256' };
const CODE = '123456';
const TOO_LONG = 'x'.repeat(10_000);
const WRONG_TYPES: readonly unknown[] = [1, -1.5, true, null, [], {}, ['a'], new Date(0), new Uint8Array([1, 2]), NaN, Infinity, /re/g];
const LOGIN_REFUSALS = [
  { error: 400, reason: 'Unrecognized options for login request' },
] as const;

/** One row per built-in method. */
const ROWS: Record<string, Row> = {
  login: {
    valid: [{ user: { username: 'alice' }, password: PASSWORD }],
    alsoAccepted: LOGIN_REFUSALS,
    cases: [
      [{ resume: 1 }], [{ resume: TOO_LONG }], [{ resume: '' }], [{ resume: 'token', extra: 1 }],
      [{ totp: 'x' }], [{ totp: { login: 'x', code: CODE } }], [{ totp: { login: { user: { username: 'alice' }, password: PASSWORD }, code: 123456 } }],
      [{ totp: { login: { user: { username: 'alice' }, password: PASSWORD }, code: TOO_LONG } }],
      [{ totp: { login: { user: { username: 'alice' }, password: PASSWORD }, code: CODE, method: 5 } }],
      [{ totp: { login: { user: { username: 'alice' }, password: PASSWORD }, code: CODE, extra: 1 } }],
      [{ user: 'alice', password: 'x'.repeat(257) }], [{ user: { nope: 'alice' }, password: PASSWORD }], [{ user: {}, password: PASSWORD }],
      [{ user: { username: 'alice' }, password: { digest: 'f'.repeat(63), algorithm: 'sha-256' } }],
      [{ user: { username: 'alice' }, password: { digest: 'g'.repeat(64), algorithm: 'sha-256' } }],
      [{ user: { username: 'alice' }, password: '' }],
      [{ user: { username: 'alice' } }], [{ password: PASSWORD }], [],
      [{ passkey: 'x' }], [{ passkey: { response: 'x' } }], [{ passkey: { response: {}, extra: 1 } }], [{ passkey: { response: {} }, extra: 1 }],
    ],
  },
  logout: { valid: [] },
  getNewToken: { valid: [] },
  removeOtherTokens: { valid: [] },
  createUser: {
    valid: [{ username: 'newcomer', email: 'newcomer@example.com', password: PASSWORD }],
    cases: [[{ username: 'newcomer', password: 'p', profile: 'not an object' }], [{ username: '', password: 'p' }], [{ username: 'newcomer', password: '' }], []],
  },
  sendVerificationEmail: { valid: ['alice@example.com'], cases: [['ab']] },
  verifyEmail: { valid: ['some-token'], cases: [[], ['']] },
  changePassword: { valid: [PASSWORD, { digest: sha256Hex('new'), algorithm: 'sha-256' }], guarded: true, cases: [[PASSWORD], [], ['x'.repeat(257), 'new']] },
  forgotPassword: { valid: [{ email: 'alice@example.com' }], cases: [['alice@example.com'], [], [{}]] },
  resetPassword: { valid: ['some-token', PASSWORD], cases: [['some-token'], [], ['', 'new']] },
  '2fa:enable': { valid: [], guarded: true },
  '2fa:validateTempToken': { valid: [CODE], cases: [[], ['']] },
  '2fa:disable': { valid: [CODE], cases: [[], ['']] },
  '2fa:regenerateCodes': { valid: [CODE], cases: [[], ['']] },
  '2fa:checkCodesRemaining': { valid: [] },
  '2fa:enableEmail': { valid: [], guarded: true },
  '2fa:disableEmail': { valid: [], guarded: true },
  '2fa:passkey:registrationOptions': { valid: [] },
  '2fa:passkey:register': { valid: [{ name: 'key', response: {} }], guarded: true, alsoAccepted: [{ error: 'passkey-invalid', reason: 'The passkey could not be verified' }], cases: [[{ name: '', response: {} }], [{ response: {} }], []] },
  '2fa:passkey:list': { valid: [], guarded: true },
  '2fa:passkey:rename': { valid: [{ id: 'cred', name: 'key' }], guarded: true, alsoAccepted: [{ error: 'passkey-not-found', reason: 'No such passkey' }], cases: [[{ id: '', name: 'k' }], [{ id: 'cred' }], []] },
  '2fa:passkey:remove': { valid: [{ id: 'cred' }], guarded: true, alsoAccepted: [{ error: 'passkey-not-found', reason: 'No such passkey' }], cases: [[{ id: '' }], [], [{}]] },
  'passkey:loginOptions': { valid: [] },
  '2fa:sendEmailCode': { valid: [{ emailOrUsername: 'alice' }], cases: [[], [''], [{ emailOrUsername: '' }], [{}]] },
  'personalAccessTokens:generateToken': { valid: [{ tokenName: 'ci', bypassTwoFactor: false }], guarded: true, cases: [[{ tokenName: '' }], [{ bypassTwoFactor: true }], []] },
  'personalAccessTokens:regenerateToken': { valid: [{ tokenName: 'ci' }], guarded: true, cases: [[{ tokenName: '' }], [], [{}]] },
  'personalAccessTokens:removeToken': { valid: [{ tokenName: 'ci' }], guarded: true, cases: [[{ tokenName: '' }], [], [{}]] },
  'personalAccessTokens:list': { valid: [] },
  // The account page's sessions and security log (issue 24).
  'sessions:list': { valid: [], guarded: true },
  'sessions:logout.me': { valid: [{ sessionId: 'abc' }], guarded: true, cases: [[{ sessionId: '' }], [], [{}]] },
  'securityLog:list': { valid: [{ offset: 0, count: 20 }], guarded: true, cases: [[{ offset: 1.5, count: 20 }], [{ offset: 0, count: '20' }], [{ count: 20 }], [{ offset: 0, count: 20, userId: 'someone-else' }]] },
  // The account page's demo method (server/web).
  'demo.guarded': { valid: [], guarded: true },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array) && !(v instanceof RegExp);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof Uint8Array) return 'binary';
  if (v instanceof RegExp) return 'regexp';
  if (typeof v === 'number' && Number.isNaN(v)) return 'nan';
  return typeof v;
}

/** `value` with the leaf at `path` replaced (`path` of keys; objects are copied). */
function replaceAt(value: unknown, path: readonly string[], leaf: unknown): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  const copy = { ...(value as Record<string, unknown>) };
  copy[head!] = replaceAt(copy[head!], rest, leaf);
  return copy;
}

/** Every path to a leaf or an object inside `value`, the root included. */
function pathsOf(value: unknown, prefix: string[] = []): { path: string[]; value: unknown }[] {
  const out = [{ path: prefix, value }];
  if (isObject(value)) for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

/** The derived bad argument lists of a row, with a label each. */
function derivedCases(row: Row): { label: string; params: unknown[] }[] {
  const out: { label: string; params: unknown[] }[] = [];
  row.valid.forEach((param, i) => {
    for (const { path, value } of pathsOf(param)) {
      const where = `param ${i}${path.length ? `.${path.join('.')}` : ''}`;
      for (const wrong of WRONG_TYPES) {
        if (kindOf(wrong) === kindOf(value) && !(isObject(wrong) && Object.keys(wrong).length === 0)) continue;
        const params = [...row.valid];
        params[i] = replaceAt(param, path, wrong);
        out.push({ label: `${where} = ${kindOf(wrong)}`, params });
      }
      if (typeof value === 'string') {
        const params = [...row.valid];
        params[i] = replaceAt(param, path, TOO_LONG);
        out.push({ label: `${where} = 10 000 characters`, params });
      }
      if (isObject(value)) {
        const params = [...row.valid];
        params[i] = replaceAt(param, path, { ...value, extra: 'key' });
        out.push({ label: `${where} with an extra key`, params });
      }
    }
  });
  out.push({ label: 'an extra parameter', params: [...row.valid, 'extra'] });
  out.push({ label: 'two extra parameters', params: [...row.valid, { a: 1 }, [2]] });
  for (const params of row.cases ?? []) out.push({ label: `hand-written ${JSON.stringify(params).slice(0, 80)}`, params });
  return out;
}

describe('reliability: parameters of every built-in method are validated', function () {
  this.timeout(60_000);
  let fx: Fixture;

  before(async () => {
    fx = await startFixture();
    await fx.user('alice');
  });
  after(stopFixtures);

  it('has a row for every built-in method of the registry, and none for a method that does not exist', () => {
    const builtIns = fx.server.registry.names().filter((n) => !n.startsWith('app.')).sort();
    expect(Object.keys(ROWS).sort()).to.deep.equal(builtIns);
  });

  it('answers wrong types, too-long strings, extra parameters and extra keys with 400 Match failed (or a specific client-safe error), never 500 nor a success', async () => {
    const failures: string[] = [];
    let calls = 0;
    let client: TestClient | null = null;
    for (const [method, row] of Object.entries(ROWS)) {
      // A fresh logged-in connection per method (and after any call that wrongly succeeded).
      client?.close();
      client = (await fx.login('alice')).client;
      for (const { label, params } of derivedCases(row)) {
        for (const withAnswer of row.guarded ? [true, false] : [true]) {
          const sent = withAnswer && row.guarded ? [...params, passwordAnswer('alice')] : params;
          const { msg } = await client.call(method, ...sent);
          calls++;
          const error = msg.error as Msg | undefined;
          const what = `${method} (${label}${row.guarded && !withAnswer ? ', no 2FA answer' : ''})`;
          if (error === undefined) {
            failures.push(`${what}: succeeded with ${JSON.stringify(msg.result)}`);
            client.close();
            client = (await fx.login('alice')).client;
            continue;
          }
          if (error.isClientSafe !== true || error.errorType !== 'Meteor.Error') failures.push(`${what}: not a client-safe error: ${JSON.stringify(error)}`);
          const matchFailed = error.error === 400 && error.reason === 'Match failed';
          const accepted = (row.alsoAccepted ?? []).some((a) => a.error === error.error && a.reason === error.reason)
            || (row.guarded === true && !withAnswer && error.error === 'totp-required');
          if (!matchFailed && !accepted) failures.push(`${what}: ${String(error.error)} ${String(error.reason)}`);
        }
      }
    }
    expect(failures, `${failures.length} of ${calls} calls`).to.deep.equal([]);
    expect(calls).to.be.greaterThan(300);
    // The last connection is still logged in as alice and usable.
    expect((await client!.call('2fa:checkCodesRemaining')).msg.error.error).to.equal('totp-not-enabled');
  });
});
