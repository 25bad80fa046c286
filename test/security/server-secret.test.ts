import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KEY_PURPOSES, loadOrCreateServerSecret } from '../../server/security/server-secret.js';

const posix = process.platform !== 'win32';

describe('security/server-secret', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ddp-guard-secret-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates the file with mode 0600 (and its parent folder), then reuses it', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'server.secret');
    const first = await loadOrCreateServerSecret({ file });
    expect(first.source).to.equal('created-file');
    expect(first.file).to.equal(file);
    const text = await fs.readFile(file, 'utf8');
    expect(text.trim()).to.match(/^[0-9a-f]{64}$/);
    if (posix) expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
    expect((await fs.readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);

    const second = await loadOrCreateServerSecret({ file });
    expect(second.source).to.equal('file');
    expect(second.insecurePermissions).to.equal(false);
    expect(second.deriveKey('p').equals(first.deriveKey('p'))).to.equal(true);
    expect(await fs.readFile(file, 'utf8')).to.equal(text);
  });

  it('processes starting together agree on one secret', async () => {
    const file = path.join(dir, 'server.secret');
    const all = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateServerSecret({ file })));
    const key = all[0]!.deriveKey('p');
    for (const s of all) expect(s.deriveKey('p').equals(key)).to.equal(true);
  });

  (posix ? it : it.skip)('flags a group- or world-readable file', async () => {
    const file = path.join(dir, 'server.secret');
    await loadOrCreateServerSecret({ file });
    await fs.chmod(file, 0o644);
    expect((await loadOrCreateServerSecret({ file })).insecurePermissions).to.equal(true);
  });

  it('refuses an invalid existing file instead of replacing it', async () => {
    const file = path.join(dir, 'server.secret');
    await fs.writeFile(file, 'too-short\n', { mode: 0o600 });
    let error: unknown;
    try {
      await loadOrCreateServerSecret({ file });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.include(file);
    expect(await fs.readFile(file, 'utf8')).to.equal('too-short\n');
  });

  it('uses a configured secret (hex or base64) and rejects one under 32 bytes', async () => {
    const hex = 'ab'.repeat(32);
    const fromHex = await loadOrCreateServerSecret({ secret: hex, file: path.join(dir, 'unused') });
    expect(fromHex.source).to.equal('config');
    await fs.access(path.join(dir, 'unused')).then(
      () => expect.fail('file must not be created when a secret is configured'),
      () => undefined,
    );
    const fromB64 = await loadOrCreateServerSecret({ secret: Buffer.from(hex, 'hex').toString('base64') });
    expect(fromB64.deriveKey('p').equals(fromHex.deriveKey('p'))).to.equal(true);

    for (const bad of ['ab'.repeat(31), 'c2hvcnQ=', 'not a secret!']) {
      let error: unknown;
      try {
        await loadOrCreateServerSecret({ secret: bad });
      } catch (err) {
        error = err;
      }
      expect(error, bad).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(/too short|not hex or base64/);
    }
  });

  it('is ephemeral without file or secret, and derives different keys per purpose', async () => {
    const a = await loadOrCreateServerSecret();
    const b = await loadOrCreateServerSecret({});
    expect(a.source).to.equal('ephemeral');
    expect(a.deriveKey('p').equals(b.deriveKey('p'))).to.equal(false);
    expect(a.deriveKey(KEY_PURPOSES.trustedClient).equals(a.deriveKey(KEY_PURPOSES.totpSecret))).to.equal(false);
    expect(a.deriveKey(KEY_PURPOSES.totpSecret)).to.have.length(32);
  });

  it('does not show the secret when inspected', async () => {
    const s = await loadOrCreateServerSecret({ secret: 'ab'.repeat(32) });
    expect(JSON.stringify(s)).to.not.include('abab');
    const { inspect } = await import('node:util');
    expect(inspect(s)).to.not.match(/ab ab|abab/);
  });
});
