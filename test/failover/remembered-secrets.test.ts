/**
 * Remembering call outcomes (so a re-sent call runs once) must not turn the database into a
 * store of credentials. Read as an attacker holding a copy of the database, or a stolen
 * session: the outcome of a call that mints a credential — a login token, a personal access
 * token, a TOTP secret, backup codes — is never written, and a re-sent one runs again (and
 * asks again); every other outcome is written sealed, bound to its user and seed, so it can be
 * neither read nor moved to another call.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { startFixture, stopFixtures, passwordAnswer, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import type { Msg, TestClient } from '../two-factor/client.js';
import { dropSchema, PG_URL, pgQuery, skipUnlessPostgres } from '../helpers/postgres.js';

interface StoreKind {
  name: string;
  /** The `db` option for a fresh store. */
  open(): string;
  /** Every outcome column in the table, as the database holds it (`null`: no raw view). */
  rawOutcomes(): Promise<string[] | null>;
  drop(): Promise<void>;
}

function sqliteFile(): StoreKind {
  const dir = mkdtempSync(join(tmpdir(), 'ddpguard-secrets-'));
  const file = join(dir, 'guard.sqlite');
  return {
    name: 'SQLite file',
    open: () => file,
    async rawOutcomes() {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('SELECT outcome FROM call_results').all() as { outcome: string | null }[]).map((r) => r.outcome ?? '');
      } finally {
        db.close();
      }
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresSchema(): StoreKind {
  const schema = `ddpguard_test_${randomBytes(6).toString('hex')}`;
  return {
    name: 'PostgreSQL',
    open: () => `${PG_URL}?schema=${schema}`,
    async rawOutcomes() {
      return (await pgQuery<{ outcome: string | null }>(`SELECT outcome FROM "${schema}".call_results`)).map((r) => r.outcome ?? '');
    },
    drop: () => dropSchema(schema),
  };
}

const memory: StoreKind = { name: 'memory', open: () => 'memory', rawOutcomes: async () => null, drop: async () => {} };

const KINDS: { name: string; make: () => StoreKind }[] = [
  { name: 'memory', make: () => memory },
  { name: 'SQLite file', make: sqliteFile },
  { name: 'PostgreSQL', make: postgresSchema },
];

for (const { name, make } of KINDS) {
  describe(`remembered call outcomes keep no credential (${name} store)`, function () {
    this.timeout(30_000);
    let kind: StoreKind;
    let fx: Fixture;
    let runs: string[];

    before(async function () {
      if (name === 'PostgreSQL') await skipUnlessPostgres(this);
    });
    beforeEach(async () => {
      kind = make();
      runs = [];
      fx = await startFixture({ db: kind.open() });
      fx.server.methods({
        'notes.add'(text: string) {
          runs.push(text);
          return { n: runs.length, text };
        },
      });
    });
    afterEach(async () => {
      await stopFixtures();
      await kind.drop();
    });

    const stored = async (userId: string, seed: string): Promise<unknown> => fx.services.store.callResults.get(userId, seed, new Date(fx.clock.now()));
    const resultOf = (out: { msg: Msg }): Msg => {
      expect(out.msg.error, JSON.stringify(out.msg.error)).to.equal(undefined);
      return out.msg.result as Msg;
    };

    it('never stores a minted token, TOTP secret or backup code, and runs a re-sent minting call again', async () => {
      const ann = await fx.user('ann');
      const { client, token: loginToken } = await fx.login('ann');
      const secrets: string[] = [loginToken];
      const seeds: string[] = [];
      const call = async (c: TestClient, seed: string, method: string, ...params: unknown[]): Promise<{ msg: Msg }> => {
        seeds.push(seed);
        return c.callSeeded(seed, method, ...params);
      };

      // A personal access token, minted then regenerated (the password stands in for the factor).
      const pat = resultOf(await call(client, 'gen', 'personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('ann'))) as unknown as string;
      secrets.push(pat);
      // Re-sent: it runs again (the name is now taken) instead of handing the token out again.
      const resent = await call(client, 'gen', 'personalAccessTokens:generateToken', { tokenName: 'ci' }, passwordAnswer('ann'));
      expect(resent.msg.error).to.deep.include({ error: 'error-token-already-exists' });
      const regenerated = resultOf(await call(client, 'regen', 'personalAccessTokens:regenerateToken', { tokenName: 'ci' }, passwordAnswer('ann'))) as unknown as string;
      secrets.push(regenerated);
      const again = resultOf(await call(client, 'regen', 'personalAccessTokens:regenerateToken', { tokenName: 'ci' }, passwordAnswer('ann'))) as unknown as string;
      expect(again, 'a re-sent regenerate runs again: a new token').to.not.equal(regenerated);
      secrets.push(again);

      // A new login token for this connection, and a resume on it while logged in as the same user.
      const renewed = resultOf(await call(client, 'renew', 'getNewToken'));
      secrets.push(renewed.token as string);
      const resumed = resultOf(await call(client, 'resume', 'login', { resume: renewed.token }));
      expect(resumed.id).to.equal(ann.id);
      secrets.push(resumed.token as string);

      // TOTP: the secret, the confirming call's backup codes, then a new set.
      const { secret } = resultOf(await call(client, 'enable', '2fa:enable', passwordAnswer('ann'))) as { secret: string };
      secrets.push(secret);
      const { codes } = resultOf(await call(client, 'confirm', '2fa:validateTempToken', fx.totpNow(secret))) as { codes: string[] };
      secrets.push(...codes);
      const confirmAgain = await call(client, 'confirm', '2fa:validateTempToken', fx.totpNow(secret));
      expect(confirmAgain.msg.error, 'a re-sent confirmation runs again').to.deep.include({ error: 'totp-already-enabled' });
      const fresh = resultOf(await call(client, 'codes', '2fa:regenerateCodes', fx.nextTotp(secret))) as { codes: string[] };
      secrets.push(...fresh.codes);
      // The re-sent one runs again: the code it carries is spent, so the guard refuses it.
      const codesAgain = await call(client, 'codes', '2fa:regenerateCodes', fx.totpNow(secret));
      expect(codesAgain.msg.error).to.have.property('error').that.matches(/^totp-/);

      for (const seed of seeds) expect(await stored(ann.id, seed), `outcome of '${seed}'`).to.equal(null);
      // And nothing anywhere in the table holds one of them, in any form.
      const raw = await kind.rawOutcomes();
      if (raw !== null) {
        for (const value of secrets) for (const outcome of raw) expect(outcome).to.not.include(value);
      }

      // Other calls on the same session are still remembered (and answered once).
      const first = resultOf(await client.callSeeded('note', 'notes.add', 'kept'));
      const second = resultOf(await client.callSeeded('note', 'notes.add', 'kept'));
      expect(second).to.deep.equal(first);
      expect(runs).to.deep.equal(['kept']);
      // A guarded call too: answered once, its TOTP code not asked for again.
      const guarded = resultOf(await client.callSeeded('guarded', 'app.echo', 'x', totpAnswer(fx.nextTotp(secret))));
      expect(resultOf(await client.callSeeded('guarded', 'app.echo', 'x', totpAnswer(fx.totpNow(secret))))).to.deep.equal(guarded);
    });

    it('stores other outcomes sealed: the result is not readable in the database', async () => {
      const ann = await fx.user('ann');
      const { client } = await fx.login('ann');
      const marker = `private message ${randomBytes(6).toString('hex')}`;
      const first = resultOf(await client.callSeeded('seed-a', 'notes.add', marker));
      expect(first).to.deep.equal({ n: 1, text: marker });
      const row = (await stored(ann.id, 'seed-a')) as { state: string; outcome: string };
      expect(row.state).to.equal('done');
      expect(row.outcome).to.match(/^v1\./).and.not.include(marker).and.not.include('private');
      const raw = await kind.rawOutcomes();
      if (raw !== null) {
        expect(raw).to.have.length(1);
        expect(raw[0]).to.equal(row.outcome);
      }
      // Sealed or not, the re-sent call gets the first outcome and does not run.
      expect(resultOf(await client.callSeeded('seed-a', 'notes.add', marker))).to.deep.equal(first);
      expect(runs).to.have.length(1);
    });

    it('answers 504 without running when a stored outcome does not open (altered, or moved from another call)', async () => {
      const ann = await fx.user('ann');
      const bob = await fx.user('bob');
      const { client: annClient } = await fx.login('ann');
      const { client: bobClient } = await fx.login('bob');
      resultOf(await annClient.callSeeded('mine', 'notes.add', 'for ann'));
      const sealed = ((await stored(ann.id, 'mine')) as { outcome: string }).outcome;
      const results = fx.services.store.callResults;
      const now = new Date(fx.clock.now());
      const later = new Date(fx.clock.now() + 60_000);
      // Ann's sealed outcome written as Bob's call with the same seed, and as another seed of Ann's.
      for (const [userId, seed] of [[bob.id, 'mine'], [ann.id, 'copied']] as const) {
        expect((await results.claim(userId, seed, now, later)).state).to.equal('claimed');
        expect(await results.complete(userId, seed, sealed)).to.equal(true);
      }
      // And one altered by a single character.
      const altered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1);
      await results.claim(ann.id, 'altered', now, later);
      await results.complete(ann.id, 'altered', altered);

      const asBob = await bobClient.callSeeded('mine', 'notes.add', 'for bob');
      expect(asBob.msg.error).to.deep.include({ error: 504 });
      expect(asBob.msg).to.not.have.property('result');
      for (const seed of ['copied', 'altered']) {
        const out = await annClient.callSeeded(seed, 'notes.add', 'again');
        expect(out.msg.error, seed).to.deep.include({ error: 504 });
      }
      expect(runs, 'none of them ran').to.deep.equal(['for ann']);
    });
  });
}
