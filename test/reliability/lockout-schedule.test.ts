/**
 * The default lock-out schedule, driven over the wire with a manual clock — 5 wrong codes lock
 * the factor for 60 s, each further one locks twice as long (up to `lockoutMaxMs`, 48 h), and
 * only time forgives, one wrong code per `lockoutDecayMs` (48 h) — and the number of guesses an
 * attacker who has the password gets in a year under it, with the owner signing in every day,
 * counted call by call and compared with the figures of docs/security.md.
 */
import { expect } from 'chai';
import { DEFAULTS } from '../../server/index.js';
import { passwordLogin, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { TestClient, Msg } from '../two-factor/client.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * The bound of docs/security.md on the guesses of any attacker in `yearMs`, whatever they and the owner
 * do: a guess adds one to the debt, time takes off at most one per `decayMs`, and with
 * `maxLockMs ≥ decayMs` the debt never passes `maxFailures + ⌈log2(maxLockMs / baseLockMs)⌉ + 1`
 * (a capped lock-out lasts long enough to forgive one). So guesses ≤ that + ⌊yearMs / decayMs⌋.
 */
export function guessBound(maxFailures: number, baseLockMs: number, maxLockMs: number, decayMs: number, yearMs = YEAR_MS): number {
  return maxFailures + Math.ceil(Math.log2(maxLockMs / baseLockMs)) + 1 + Math.floor(yearMs / decayMs);
}

/** 1 − (1 − p)^n: the chance that one of `n` guesses hits, each with probability `p`. */
export function chanceOfAHit(p: number, n: number): number {
  return 1 - (1 - p) ** n;
}

describe('reliability: the default lock-out schedule, over the wire', function () {
  this.timeout(120_000);
  let fx: Fixture;

  beforeEach(async () => {
    // Session tokens that never expire: the attacker's session lives through the simulated year.
    fx = await startFixture({ loginTokenLifetimeMs: 0 });
  });
  afterEach(stopFixtures);

  async function enrolled(name: string): Promise<{ client: TestClient; secret: string; codes: string[] }> {
    await fx.user(name);
    const { client } = await fx.login(name);
    const { secret, codes } = await fx.enrolTotp(client);
    return { client, secret, codes };
  }

  /** One wrong TOTP code on a method that always asks; returns the wire error. */
  async function guess(client: TestClient, secret: string): Promise<Msg> {
    return client.fails('app.always', totpAnswer(fx.wrongTotp(secret)));
  }

  it('uses the defaults docs/security.md states', () => {
    expect({ maxFailedAttempts: DEFAULTS.maxFailedAttempts, lockoutBaseMs: DEFAULTS.lockoutBaseMs, lockoutMaxMs: DEFAULTS.lockoutMaxMs, lockoutDecayMs: DEFAULTS.lockoutDecayMs })
      .to.deep.equal({ maxFailedAttempts: 5, lockoutBaseMs: 60_000, lockoutMaxMs: 48 * 3600 * 1000, lockoutDecayMs: 48 * 3600 * 1000 });
  });

  it('locks for 60 s at the 5th wrong code, then each further one doubles it up to 48 h; the right code is refused while locked', async () => {
    const { client, secret } = await enrolled('target');
    for (let i = 1; i < DEFAULTS.maxFailedAttempts; i++) expect((await guess(client, secret)).error, `guess ${i}`).to.equal('totp-invalid');
    const seen: number[] = [];
    for (let k = 0; k < 20; k++) {
      const locked = await guess(client, secret);
      expect(locked.error, `guess ${k + 5}`).to.equal('totp-max-attempts');
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
    console.log(`      lock-outs: ${seen.map((ms) => `${Math.round(ms / 1000)} s`).join(', ')}`);
    expect(seen.slice(0, 12)).to.deep.equal(Array.from({ length: 12 }, (_, k) => 60_000 * 2 ** k));
    // 2^11 minutes is 34 h; by then 48 h have passed and one wrong code is forgiven, so the
    // debt creeps up by less than one per lock-out until the cap, 48 h, holds: one guess per
    // forgiveness, for good.
    expect(seen.every((ms) => ms <= DEFAULTS.lockoutMaxMs)).to.equal(true);
    expect(seen.slice(-3)).to.deep.equal([DEFAULTS.lockoutMaxMs, DEFAULTS.lockoutMaxMs, DEFAULTS.lockoutMaxMs]);
  });

  it("the owner's sign-ins forgive nothing; time does, one wrong code per 48 h; a TOTP lock-out leaves the backup codes", async () => {
    const { client, secret, codes } = await enrolled('owner');
    for (let i = 1; i < DEFAULTS.maxFailedAttempts; i++) await guess(client, secret);
    // The owner signs in (another session) with the right code: the four failures stay.
    const owner = await fx.loginWithTotp('owner', secret);
    const locked = await guess(client, secret);
    expect(locked.error).to.equal('totp-max-attempts');
    expect(locked.details.lockedFor).to.equal(60_000);
    // The owner is told by mail — no code in it — and not again for every further lock-out of the hour.
    const notice = await fx.sink.waitFor((m) => m.to.includes('owner@example.com') && /locked/i.test(m.subject));
    expect(notice.text).to.match(/authenticator app/).and.to.match(/change your password/i).and.not.match(/\b\d{6}\b/);
    fx.clock.advance(60_000);
    expect((await guess(client, secret)).error).to.equal('totp-max-attempts');
    // Locked out of TOTP codes, the owner still gets in with a backup code (counted apart).
    const viaBackup = await fx.connect();
    expect(((await viaBackup.ok('login', { totp: { login: passwordLogin('owner'), code: codes[0]! } })) as Msg).id).to.equal(owner.userId);
    expect(fx.sink.messages.filter((m) => /locked/i.test(m.subject))).to.have.length(1);
    // 2 × 48 h later two failures are forgiven: the next wrong code is the 5th again (60 s).
    fx.clock.advance(2 * DEFAULTS.lockoutDecayMs);
    expect((await guess(client, secret)).details.lockedFor).to.equal(60_000);
    // After 5 × 48 h more, all is forgiven: four wrong codes pass again before a lock-out.
    fx.clock.advance(5 * DEFAULTS.lockoutDecayMs);
    for (let i = 1; i < DEFAULTS.maxFailedAttempts; i++) expect((await guess(client, secret)).error).to.equal('totp-invalid');
    expect((await guess(client, secret)).error).to.equal('totp-max-attempts');
  });

  it('lets an attacker with the password make at most the number of guesses docs/security.md states in a year, the owner signing in daily', async () => {
    const { client, secret } = await enrolled('victim');
    const start = fx.clock.now();
    let guesses = 0;
    let lockouts = 0;
    let ownerIn = 0;
    let ownerLockedOut = 0;
    let nextOwnerLogin = start + DAY_MS / 2;
    while (fx.clock.now() - start < YEAR_MS) {
      const error = await guess(client, secret);
      guesses++;
      let lockedUntil = fx.clock.now();
      if (error.error === 'totp-max-attempts') {
        lockouts++;
        lockedUntil += error.details.lockedFor as number;
      } else {
        expect(error.error).to.equal('totp-invalid');
      }
      // The owner signs in once a day with their app, whenever that falls.
      while (nextOwnerLogin < lockedUntil && nextOwnerLogin - start < YEAR_MS) {
        fx.clock.advance(nextOwnerLogin - fx.clock.now());
        const owner = await fx.connect();
        const outcome = await owner.call('login', { totp: { login: passwordLogin('victim'), code: fx.nextTotp(secret) } });
        if (outcome.msg.error === undefined) ownerIn++;
        else ownerLockedOut++;
        owner.close();
        nextOwnerLogin += DAY_MS;
      }
      fx.clock.advance(Math.max(0, lockedUntil - fx.clock.now()));
    }
    const bound = guessBound(DEFAULTS.maxFailedAttempts, DEFAULTS.lockoutBaseMs, DEFAULTS.lockoutMaxMs, DEFAULTS.lockoutDecayMs);
    const chance = chanceOfAHit(3e-6, guesses);
    console.log(`      one year under the default schedule: ${guesses} guesses (bound ${bound}), ${lockouts} lock-outs; ` +
      `the owner got in ${ownerIn} times, was locked out ${ownerLockedOut} times; a TOTP hit ${(chance * 100).toFixed(3)} %`);
    // The figures docs/security.md states.
    expect(guesses).to.equal(198);
    expect(bound).to.equal(200);
    expect(guesses).to.be.at.most(bound);
    expect(chanceOfAHit(3e-6, bound)).to.be.below(1e-3);
    expect(ownerIn + ownerLockedOut).to.equal(365);
  });
});
