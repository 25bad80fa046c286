/**
 * Issue 7, the process killed: `ddp-guard serve --db <file>` in a child process.
 *
 * - `kill -9` during a stream of writes (sign-ups, TOTP enrolments, personal tokens created
 *   with backup codes): after a restart every acknowledged write is there — the user and their
 *   session, the enrolment, each token, each backup code spent — and `PRAGMA integrity_check`
 *   says `ok`.
 * - SIGTERM: the graceful shutdown lets an in-flight slow method (from an `--app` module)
 *   finish and answer, refuses new calls with 503, tells clients with close code 1001, and the
 *   process exits 0.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { cleanEnv, killChild, startServe, type ServeProcess } from '../cli/helpers.js';
import { closeAllClients, TestClient, type Msg } from '../two-factor/client.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { sha256Hex } from '../../server/security/crypto.js';
import { eventually } from './support.js';

const PASSWORD = 'a long enough password';

/** What the server acknowledged for one user. */
interface Acked {
  username: string;
  userId?: string;
  loginToken?: string;
  secret?: string;
  enrolled?: boolean;
  backupCodes?: string[];
  /** Personal tokens created, by name; each spent the backup code of the same index. */
  tokens: { name: string; token: string; backupCode: string }[];
}

function integrity(file: string): string {
  const db = new Database(file);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join(', ');
  } finally {
    db.close();
  }
}

describe('reliability: the server process killed', function () {
  this.timeout(90_000);
  let dir: string;
  const running: ServeProcess[] = [];

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ddp-guard-crash-'));
    mkdirSync(path.join(dir, 'app'));
    writeFileSync(path.join(dir, 'app', 'package.json'), '{"type": "module"}\n');
    // A method that runs until the test creates a file: the test decides when it ends, and
    // knows when it started (a line on stderr), instead of guessing with sleeps.
    writeFileSync(path.join(dir, 'app', 'slow.js'), `import { existsSync } from 'node:fs';
export default (server) => {
  server.methods({
    async 'fixture.held'(file) {
      console.error('fixture.held started');
      while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 10));
      return { released: true };
    },
  });
};\n`);
  });
  afterEach(() => {
    closeAllClients();
    for (const serve of running.splice(0)) killChild(serve.child);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function serve(db: string, extra: string[] = []): Promise<ServeProcess> {
    const p = await startServe(['--port', '0', '--db', db, '--log-level', 'error', '--app', './app/slow.js', ...extra], { cwd: dir, env: cleanEnv() });
    running.push(p);
    return p;
  }

  it('kill -9 during a stream of writes: every acknowledged write survives the restart, and the database is intact', async () => {
    const db = path.join(dir, 'crash.sqlite');
    const first = await serve(db, ['--signup']);
    const acked: Acked[] = [];
    let stop = false;
    let writes = 0;

    // Each worker: sign up, enrol TOTP, then create tokens paying with backup codes; each
    // write is recorded only once the server has answered it.
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const rec: Acked = { username: `w${w}u${i}`, tokens: [] };
        acked.push(rec);
        // A connection per user: sign-up is rate limited per connection.
        const client = await TestClient.connect(first.url);
        const created = (await client.ok('createUser', { username: rec.username, password: PASSWORD })) as Msg;
        rec.userId = created.id as string;
        rec.loginToken = created.token as string;
        writes++;
        const { secret } = (await client.ok('2fa:enable', { twoFactorCode: sha256Hex(PASSWORD), twoFactorMethod: 'password' })) as { secret: string };
        rec.secret = secret;
        writes++;
        const { codes } = (await client.ok('2fa:validateTempToken', generateTotpCode(secret, Date.now()))) as { codes: string[] };
        rec.enrolled = true;
        rec.backupCodes = codes;
        writes++;
        for (let j = 0; j < 3 && !stop; j++) {
          const token = (await client.ok('personalAccessTokens:generateToken', { tokenName: `t${j}` }, { twoFactorCode: codes[j], twoFactorMethod: 'totp' })) as string;
          rec.tokens.push({ name: `t${j}`, token, backupCode: codes[j]! });
          writes++;
        }
        client.close();
      }
    };
    const workers = Array.from({ length: 4 }, (_, w) => worker(w).catch(() => {
      // The connection died with the server: whatever was in flight was not acknowledged.
    }));
    const streamFrom = Date.now();
    while (writes < 120 && Date.now() - streamFrom < 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGKILL');
    await first.exited;
    stop = true;
    await Promise.all(workers);
    closeAllClients();
    console.log(`      killed after ${writes} acknowledged writes (${acked.filter((a) => a.userId).length} users, ${acked.filter((a) => a.enrolled).length} enrolled, ${acked.reduce((n, a) => n + a.tokens.length, 0)} tokens)`);
    expect(writes).to.be.at.least(20);

    expect(integrity(db), 'integrity right after kill -9').to.equal('ok');

    const second = await serve(db);
    for (const rec of acked.filter((a) => a.userId !== undefined)) {
      const client = await TestClient.connect(second.url);
      // The account and the session token of the sign-up.
      const resumed = (await client.ok('login', { resume: rec.loginToken })) as Msg;
      expect(resumed.id, `${rec.username}: session`).to.equal(rec.userId);
      if (rec.enrolled) {
        const { remaining } = (await client.ok('2fa:checkCodesRemaining')) as { remaining: number };
        // Spent codes stay spent; one more may have been spent by a call in flight at the kill.
        expect(remaining, `${rec.username}: backup codes left`).to.be.at.most(12 - rec.tokens.length).and.at.least(12 - rec.tokens.length - 1);
        const names = ((await client.ok('personalAccessTokens:list')) as Msg[]).map((t) => t.name as string);
        expect(names, `${rec.username}: tokens`).to.include.members(rec.tokens.map((t) => t.name));
        if (rec.tokens.length > 0) {
          // A spent backup code does not work again.
          const reuse = await client.fails('personalAccessTokens:generateToken', { tokenName: 'again' }, { twoFactorCode: rec.tokens[0]!.backupCode, twoFactorMethod: 'totp' });
          expect(reuse.error, `${rec.username}: spent backup code`).to.equal('totp-invalid');
        }
      } else if (rec.secret !== undefined) {
        // The confirmation was in flight at the kill: either it did not happen, or all of it did.
        const { msg } = await client.call('2fa:checkCodesRemaining');
        if (msg.error) expect(msg.error.error).to.equal('totp-not-enabled');
        else expect(msg.result).to.deep.equal({ remaining: 12 });
      }
      client.close();
      for (const t of rec.tokens) {
        const viaToken = await TestClient.connect(second.url);
        const r = (await viaToken.ok('login', { resume: t.token })) as Msg;
        expect(r.id, `${rec.username}: personal token ${t.name}`).to.equal(rec.userId);
        viaToken.close();
      }
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
    expect(integrity(db), 'integrity after the restart').to.equal('ok');
  });

  it('SIGTERM: an in-flight slow method finishes and answers, new calls get 503, clients see 1001, exit 0', async () => {
    const p = await serve(path.join(dir, 'term.sqlite'));
    const client = await TestClient.connect(p.url);
    const other = await TestClient.connect(p.url);
    const release = path.join(dir, 'term.release');
    const slow = client.call('fixture.held', release);
    await eventually(() => p.stderr().includes('fixture.held started'), 20_000, 'the held method to start');
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    await eventually(() => p.stderr().includes('SIGTERM received, shutting down'), 20_000, 'the shutdown to begin');
    const refused = await other.call('fixture.held', release);
    expect(refused.msg.error, JSON.stringify(refused.msg)).to.deep.include({ error: 503, reason: 'Server shutting down' });
    // Still waiting for the method in flight: let it end now.
    expect(p.child.exitCode).to.equal(null);
    writeFileSync(release, '');
    const { msg } = await slow;
    expect(msg.result).to.deep.equal({ released: true });
    expect(await client.closed).to.equal(1001);
    expect(await other.closed).to.equal(1001);
    expect(await p.exited).to.equal(0);
    expect(Date.now() - t0, 'the shutdown waited for the method, not for the 10 s limit').to.be.lessThan(5000);
    expect(p.stderr()).to.contain('SIGTERM received, shutting down');
  });
});
