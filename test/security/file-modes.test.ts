/**
 * What ddp-guard writes to disk is readable by its owner only: the data folder it creates, the
 * SQLite database with its WAL and shared-memory files, the outbox folder and its mails (they
 * carry codes and reset tokens), and the server secret.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createServer, silentLogger } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { TestClient, closeAllClients } from '../two-factor/client.js';
import { skipBecause } from '../helpers/skip.js';

const mode = (file: string): string => (statSync(file).mode & 0o777).toString(8);

describe('security: files are created readable by their owner only', function () {
  this.timeout(20_000);
  let dir: string;
  before(function () {
    if (process.platform === 'win32') skipBecause(this, 'POSIX file modes do not exist on Windows');
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ddp-guard-modes-'));
  });
  afterEach(() => {
    closeAllClients();
    rmSync(dir, { recursive: true, force: true });
  });

  it('data folder 700; database, -wal and -shm 600; secret 600; outbox 700 with mails 600 — whatever the umask', async () => {
    const data = path.join(dir, 'data');
    const previous = process.umask(0o022);
    const server = createServer({ port: 0, db: path.join(data, 'guard.sqlite'), outboxDir: path.join(data, 'outbox'), logger: silentLogger, bcryptCost: 4, passwordWorkers: 1 });
    try {
      await server.listen();
      const { store, hasher, clock } = await server.services.get();
      await createUserRecord({ store, hasher, clock }, { username: 'mo', email: 'mo@example.com', password: 'pw-mo-long', verified: true });
      const client = await TestClient.connect(server.url);
      await client.ok('forgotPassword', { email: 'mo@example.com' });
      const outbox = path.join(data, 'outbox');
      const deadline = Date.now() + 5_000;
      const mails = (): string[] => { try { return readdirSync(outbox).filter((f) => f.endsWith('.eml')); } catch { return []; } };
      while (mails().length === 0) {
        if (Date.now() > deadline) throw new Error('no mail in the outbox');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(mode(data)).to.equal('700');
      for (const file of ['guard.sqlite', 'guard.sqlite-wal', 'guard.sqlite-shm', 'ddp-guard.secret']) {
        expect(mode(path.join(data, file)), file).to.equal('600');
      }
      expect(mode(outbox)).to.equal('700');
      for (const mail of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) expect(mode(path.join(outbox, mail)), mail).to.equal('600');
    } finally {
      process.umask(previous);
      await server.close();
    }
  });
});
