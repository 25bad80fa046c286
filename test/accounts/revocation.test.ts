/**
 * Revoking a token ends every connection (and trust mark) that used it, at once: logout,
 * getNewToken (for the old token), removeOtherTokens, a password change, a personal token
 * removed or regenerated — and the admin commands `ddp-guard user passwd|reset-2fa|remove`,
 * run as processes of their own against the database a running `serve` uses; and across
 * processes sharing PostgreSQL without Redis (the store's revocation feed, polled).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { createServer, silentLogger, type GuardServer } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { cleanEnv, killChild, runCli, startServe, type ServeProcess } from '../cli/helpers.js';
import { passwordAnswer, startFixture, stopFixtures, totpAnswer, type Fixture } from '../two-factor/fixture.js';
import { closeAllClients, TestClient, type Msg } from '../two-factor/client.js';
import { skipBecause } from '../helpers/skip.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

describe('accounts: revoking a token ends the connections that use it', function () {
  this.timeout(30_000);

  describe('in one process', () => {
    let fx: Fixture;
    beforeEach(async () => {
      fx = await startFixture();
    });
    afterEach(stopFixtures);

    /** A second connection resumed with `token`, trusted by a check of its own. */
    async function trustedResume(token: string, secret: string): Promise<TestClient> {
      const other = await fx.connect();
      await other.ok('login', { resume: token });
      expect(await other.ok('app.echo', totpAnswer(fx.nextTotp(secret)))).to.deep.equal({ count: 0, args: [] });
      expect(await other.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      return other;
    }

    it('logout on one connection closes every other connection resumed with that token, trusted or not', async () => {
      await fx.user('alice');
      const { client, token } = await fx.login('alice');
      const { secret } = await fx.enrolTotp(client);
      const other = await trustedResume(token, secret);
      const unrelated = (await fx.loginWithTotp('alice', secret)).client;
      await client.ok('logout');
      expect(await other.closed).to.equal(1000);
      // The caller stays connected, logged out; another session of the user is untouched.
      expect(client.isClosed).to.equal(false);
      expect((await client.fails('app.echo')).error).to.equal(401);
      expect(await unrelated.ok('app.open')).to.equal('open');
      const again = await fx.connect();
      expect((await again.fails('login', { resume: token })).error).to.equal(403);
    });

    it('getNewToken revokes the old token: its other connections close, the caller goes on with the new one', async () => {
      await fx.user('bob');
      const { client, token } = await fx.login('bob');
      const other = await fx.connect();
      await other.ok('login', { resume: token });
      const fresh = (await client.ok('getNewToken')) as Msg;
      expect(fresh.token).to.not.equal(token);
      expect(await other.closed).to.equal(1000);
      expect(await client.ok('app.open')).to.equal('open');
      const viaNew = await fx.connect();
      expect(((await viaNew.ok('login', { resume: fresh.token })) as Msg).id).to.equal(fresh.id);
      expect((await (await fx.connect()).fails('login', { resume: token })).error).to.equal(403);
    });

    it('removeOtherTokens and changePassword close the other sessions, not the caller', async () => {
      await fx.user('carl');
      const { client } = await fx.login('carl');
      const others = [(await fx.login('carl')).client, (await fx.login('carl')).client];
      await client.ok('removeOtherTokens');
      for (const o of others) expect(await o.closed).to.equal(1000);
      const third = (await fx.login('carl')).client;
      expect(await client.ok('changePassword', { digest: passwordAnswer('carl').twoFactorCode, algorithm: 'sha-256' }, 'a brand new password')).to.deep.equal({ passwordChanged: true });
      expect(await third.closed).to.equal(1000);
      expect(client.isClosed).to.equal(false);
    });

    it('a personal token regenerated or removed ends its sessions', async () => {
      await fx.user('dana');
      const { client } = await fx.login('dana');
      const { secret } = await fx.enrolTotp(client);
      const pat = (await client.ok('personalAccessTokens:generateToken', { tokenName: 'ci', bypassTwoFactor: true }, totpAnswer(fx.nextTotp(secret)))) as string;
      const bot = await fx.connect();
      await bot.ok('login', { resume: pat });
      expect(await bot.ok('app.echo')).to.deep.equal({ count: 0, args: [] });
      await client.ok('personalAccessTokens:regenerateToken', { tokenName: 'ci' }, totpAnswer(fx.nextTotp(secret)));
      expect(await bot.closed).to.equal(1000);
    });
  });

  describe('by an admin command in another process', () => {
    let cwd: string;
    let serve: ServeProcess | undefined;
    const db = (): string => path.join(cwd, 'data', 'guard.sqlite');

    beforeEach(async () => {
      cwd = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-revoke-'));
      const add = await runCli(['user', 'add', 'olga', '--email', 'olga@example.com', '--password', 'pw-olga-long', '--verified', '--db', db()], { cwd });
      expect(add.code, add.stderr).to.equal(0);
      serve = await startServe(['--port', '0', '--db', db(), '--log-level', 'warn'], { cwd });
    });
    afterEach(() => {
      closeAllClients();
      killChild(serve?.child);
      rmSync(cwd, { recursive: true, force: true });
    });

    async function loggedIn(): Promise<TestClient> {
      const client = await TestClient.connect(serve!.url);
      await client.ok('login', { user: { username: 'olga' }, password: 'pw-olga-long' });
      return client;
    }

    for (const [command, args, says] of [
      ['user passwd', ['user', 'passwd', 'olga', '--password', 'another long password'], /2 login sessions signed out/],
      ['user reset-2fa', ['user', 'reset-2fa', 'olga'], /2 login sessions signed out/],
      ['user remove', ['user', 'remove', 'olga'], /Removed user olga/],
    ] as const) {
      it(`${command} closes the user's live connections on the running server`, async () => {
        const sessions = [await loggedIn(), await loggedIn()];
        const result = await runCli([...args, '--db', db()], { cwd, env: cleanEnv() });
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.match(says);
        for (const s of sessions) expect(await s.closed).to.equal(1000);
      });
    }
  });

  describe('across processes sharing PostgreSQL, without Redis', () => {
    const schema = `ddpguard_rev_${randomBytes(6).toString('hex')}`;
    const servers: GuardServer[] = [];

    before(async function () {
      const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
      try {
        await probe.connect();
        await probe.end();
      } catch (err) {
        skipBecause(this, `PostgreSQL does not answer at ${PG_URL} (${(err as Error).message})`);
      }
    });
    afterEach(async () => {
      closeAllClients();
      await Promise.all(servers.splice(0).map((s) => s.close()));
    });
    after(async () => {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect().then(() => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
      await admin.end().catch(() => undefined);
    });

    it('logout through A closes the connection resumed with that token on B, within the poll', async () => {
      for (let i = 0; i < 2; i++) {
        const server = createServer({ port: 0, db: `${PG_URL}?schema=${schema}`, secret: '5c'.repeat(32), logger: silentLogger, bcryptCost: 4, passwordWorkers: 1, revocationPollMs: 100 });
        servers.push(server);
        await server.listen();
      }
      const [A, B] = servers as [GuardServer, GuardServer];
      const services = await A.services.get();
      await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'pia', password: 'pw-pia-long' });
      const onA = await TestClient.connect(A.url);
      const { token } = (await onA.ok('login', { user: { username: 'pia' }, password: 'pw-pia-long' })) as Msg;
      const onB = await TestClient.connect(B.url);
      await onB.ok('login', { resume: token });
      await onA.ok('logout');
      expect(await onB.closed).to.equal(1000);
    });
  });
});
