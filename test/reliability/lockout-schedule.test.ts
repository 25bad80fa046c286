/**
 * Issue 7: the default lock-out schedule, driven over the wire with a manual clock — 5 wrong
 * codes lock the factor for 60 s, the next lock-out lasts 120 s, then 240 s... up to
 * `lockoutMaxMs` (24 h) — and the number of guesses an attacker who has the password gets in a
 * year under that schedule, counted call by call and compared with the README's formula.
 */
import { expect } from 'chai';
import { DEFAULTS } from '../../server/index.js';
import { passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { TestClient, Msg } from '../two-factor/client.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * The README's formula: lock-out k (from 0) lasts min(base × 2^k, max). The first K lock-outs
 * (K = the first k whose lock reaches the cap) take base × (2^K − 1); every later one lasts
 * max. Guesses come in bursts of `maxFailedAttempts`, one burst before each lock-out and one
 * after the last lock-out that ends within the year.
 */
export function guessesPerYear(maxFailedAttempts: number, lockoutBaseMs: number, lockoutMaxMs: number, yearMs = YEAR_MS): { lockouts: number; guesses: number } {
  let k = 0;
  while (lockoutBaseMs * 2 ** k < lockoutMaxMs) k++;
  const uncapped = lockoutBaseMs * (2 ** k - 1);
  const lockouts = uncapped >= yearMs ? Math.floor(Math.log2(yearMs / lockoutBaseMs + 1)) : k + Math.floor((yearMs - uncapped) / lockoutMaxMs);
  return { lockouts, guesses: maxFailedAttempts * (lockouts + 1) };
}

describe('reliability: the default lock-out schedule, over the wire', function () {
  this.timeout(120_000);
  let fx: Fixture;

  beforeEach(async () => {
    // Session tokens that never expire: the attacker's session lives through the simulated year.
    fx = await startFixture({ loginTokenLifetimeMs: 0 });
  });
  afterEach(stopFixtures);

  async function attacker(name: string): Promise<{ client: TestClient; secret: string }> {
    await fx.user(name);
    const { client } = await fx.login(name);
    const { secret } = await fx.enrolTotp(client);
    return { client, secret };
  }

  /** One wrong TOTP code on a method that always asks; returns the wire error. */
  async function guess(client: TestClient, secret: string): Promise<Msg> {
    return client.fails('app.always', totpAnswer(fx.wrongTotp(secret)));
  }

  it('uses the defaults the README states', () => {
    expect({ maxFailedAttempts: DEFAULTS.maxFailedAttempts, lockoutBaseMs: DEFAULTS.lockoutBaseMs, lockoutMaxMs: DEFAULTS.lockoutMaxMs })
      .to.deep.equal({ maxFailedAttempts: 5, lockoutBaseMs: 60_000, lockoutMaxMs: 24 * 3600 * 1000 });
  });

  it('locks for 60 s after 5 wrong codes, then 120 s, 240 s... capped at lockoutMaxMs; the right code is refused while locked', async () => {
    const { client, secret } = await attacker('target');
    const expected = Array.from({ length: 14 }, (_, k) => Math.min(60_000 * 2 ** k, DEFAULTS.lockoutMaxMs));
    const seen: number[] = [];
    for (let k = 0; k < expected.length; k++) {
      for (let i = 1; i < DEFAULTS.maxFailedAttempts; i++) {
        expect((await guess(client, secret)).error, `lock-out ${k}, guess ${i}`).to.equal('totp-invalid');
      }
      const locked = await guess(client, secret);
      expect(locked.error, `lock-out ${k}, guess 5`).to.equal('totp-max-attempts');
      seen.push(locked.details.lockedFor as number);
      // While locked: refused without counting, even the right code, even through login.
      fx.clock.advance(locked.details.lockedFor - 1);
      const early = await client.fails('app.always', totpAnswer(fx.totpNow(secret)));
      expect(early.error).to.equal('totp-max-attempts');
      expect(early.details.lockedFor).to.equal(1);
      if (k === 0) {
        const other = await fx.connect();
        const viaLogin = await other.fails('login', { totp: { login: passwordLogin('target'), code: fx.totpNow(secret) } });
        expect(viaLogin.error).to.equal('totp-max-attempts');
        other.close();
      }
      fx.clock.advance(1);
    }
    console.log(`      lock-outs: ${seen.map((ms) => `${ms / 1000} s`).join(', ')}`);
    expect(seen).to.deep.equal(expected);
    expect(seen.slice(0, 4)).to.deep.equal([60_000, 120_000, 240_000, 480_000]);
    expect(seen.slice(11)).to.deep.equal([86_400_000, 86_400_000, 86_400_000]);
  });

  it('lets an attacker with the password make exactly the README’s number of guesses in a year', async () => {
    const { client, secret } = await attacker('victim');
    const start = fx.clock.now();
    let guesses = 0;
    let lockouts = 0;
    while (fx.clock.now() - start < YEAR_MS) {
      const error = await guess(client, secret);
      guesses++;
      if (error.error === 'totp-max-attempts') {
        lockouts++;
        fx.clock.advance(error.details.lockedFor as number);
      } else {
        expect(error.error).to.equal('totp-invalid');
      }
    }
    const formula = guessesPerYear(DEFAULTS.maxFailedAttempts, DEFAULTS.lockoutBaseMs, DEFAULTS.lockoutMaxMs);
    console.log(`      one year under the default schedule: ${guesses} guesses, ${lockouts} lock-outs ended or running; formula 5 × (${formula.lockouts} + 1) = ${formula.guesses}`);
    // The last burst's lock-out starts within the year but ends after it.
    expect(lockouts).to.equal(formula.lockouts + 1);
    expect(guesses).to.equal(formula.guesses);
    // The figure the README's security section states.
    expect(formula).to.deep.equal({ lockouts: 374, guesses: 1875 });
  });
});
