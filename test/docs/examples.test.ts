/**
 * Every `ts` and `js` example of the README and docs/*.md: a `ts` example is type-checked
 * against the package as a user imports it (`ddp-guard/server`, resolved through package.json's
 * `exports`), then compiled and run with node; it must exit 0. What a reader would change, the
 * test does too, and only that: the port (`port: 3000` gets a free one) and the folder (a fresh
 * one, for the database). A client example (one that connects to `ws://127.0.0.1:3000/`) runs
 * against a server the test starts as the reader's would be: the example chat's guarded
 * `rooms.delete`, and alice (password `secret-password`) with an authenticator app, whose code
 * the test types when the example asks. An example that cannot run as written carries a
 * `<!-- docs-test: skip (…) -->` marker with the reason.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { allPages, root } from './pages.js';
import { codeBlocks, type CodeBlock } from './readme-commands.js';
import { createServer, silentLogger, type GuardServer } from '../../server/index.js';
import { createUserRecord } from '../../server/accounts/admin.js';
import { generateTotpCode } from '../../server/two-factor/totp.js';
import { createNodeClient, sha256Hex } from '../../client/node.js';
import { freePort } from '../helpers/ports.js';

const CLIENT_URL = 'ws://127.0.0.1:3000/';
const ALICE_PASSWORD = 'secret-password';

/** The server a client example talks to: alice with an authenticator app, and a guarded rooms.delete. */
async function startClientFixture(): Promise<{ server: GuardServer; port: number; secret: string }> {
  const server = createServer({ port: 0, db: 'memory', logger: silentLogger });
  server.methods({ 'rooms.delete': { twoFactor: true, handler: (id: unknown) => ({ deleted: id }) } });
  await server.listen();
  const services = await server.services.get();
  await createUserRecord({ store: services.store, hasher: services.hasher, clock: services.clock }, { username: 'alice', password: ALICE_PASSWORD });
  const port = server.address()!.port;
  const client = createNodeClient(`ws://127.0.0.1:${port}/websocket`);
  await client.connect();
  await client.loginWithPassword('alice', ALICE_PASSWORD);
  const { secret } = await client.account.enableTotp({ code: sha256Hex(ALICE_PASSWORD), method: 'password' });
  await client.account.confirmTotp(generateTotpCode(secret, Date.now()));
  client.close();
  return { server, port, secret };
}

interface Example extends CodeBlock {
  readonly page: string;
}

/** Runs `file` with node, typing `input` when it asks for a code; asynchronous, so an in-process server keeps answering. */
function runNode(file: string, cwd: string, input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      // A person types the code once they see the question (readline drops a line typed before it).
      if (!typed && input !== '' && /code: $/.test(stdout)) {
        typed = true;
        child.stdin.write(input);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    // Standard input stays open as a terminal's does (readline closes when its input ends).
    child.once('exit', () => child.stdin.destroy());
  });
}

describe('docs: every code example runs as written', function () {
  this.timeout(120_000);
  const examples: Example[] = allPages().flatMap((page) => codeBlocks(page.text).filter((b) => b.lang === 'ts' || b.lang === 'js').map((b) => ({ ...b, page: page.path })));
  const run = examples.filter((e) => e.marker === null);
  let dir: string;

  before(() => {
    // Inside the package, so `ddp-guard/...` resolves to this package by its name, as it does for a user.
    mkdirSync(path.join(root, 'dist', 'test', 'docs'), { recursive: true });
    dir = mkdtempSync(path.join(root, 'dist', 'test', 'docs', 'examples-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('each example is run, or marked with why not', () => {
    const bad = examples.filter((e) => e.marker !== null && !/^skip \(.+\)$/.test(e.marker)).map((e) => `${e.page} line ${e.line}: ${e.marker ?? ''}`);
    expect(bad, 'examples with an unknown marker').to.deep.equal([]);
    expect(run.filter((e) => e.lang !== 'ts').map((e) => `${e.page} line ${e.line}`), 'js examples to run: write them in ts, or mark them').to.deep.equal([]);
    expect(run.length, 'examples run').to.be.greaterThan(0);
  });

  it('type-checks each ts example against the package', () => {
    const files = run.map((e, i) => {
      const file = path.join(dir, `example-${i}.ts`);
      writeFileSync(file, `${e.lines.join('\n')}\nexport {};\n`);
      return { file, where: `${e.page} line ${e.line}` };
    });
    const program = ts.createProgram(files.map((f) => f.file), {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], skipLibCheck: true,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = files.find((f) => f.file === d.file?.fileName)?.where ?? d.file?.fileName ?? '';
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `${where} (+${line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).to.deep.equal([]);
  });

  it('runs each ts example with node, in a fresh folder on a free port, and it exits 0', async () => {
    for (const [i, e] of run.entries()) {
      let source = e.lines.join('\n');
      let input = '';
      let fixture: Awaited<ReturnType<typeof startClientFixture>> | null = null;
      if (source.includes(CLIENT_URL)) {
        fixture = await startClientFixture();
        source = source.replaceAll(CLIENT_URL, `ws://127.0.0.1:${fixture.port}/`);
        // The code the app shows next: enrolment spent the current one (the server accepts ±1 step).
        input = `${generateTotpCode(fixture.secret, Date.now() + 30_000)}\n`;
      } else {
        source = source.replaceAll('port: 3000', `port: ${await freePort()}`);
      }
      const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      const file = path.join(dir, `run-${i}.mjs`);
      writeFileSync(file, js);
      const cwd = mkdtempSync(path.join(dir, 'cwd-'));
      const r = await runNode(file, cwd, input);
      await fixture?.server.close();
      expect(r.status, `${e.page} line ${e.line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(0);
      if (fixture) expect(r.stdout, `${e.page} line ${e.line}: the guarded call's result`).to.include("{ deleted: 'lunch' }");
    }
  });
});
