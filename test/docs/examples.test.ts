/**
 * Every `ts` and `js` example of the README and docs/*.md: a `ts` example is type-checked
 * against the package as a user imports it (`ddp-guard/server`, resolved through package.json's
 * `exports`), then compiled and run with node; it must exit 0. What a reader would change, the
 * test does too, and only that: the port (`port: 3000` gets a free one) and the folder (a fresh
 * one, for the database). An example that cannot run as written carries a
 * `<!-- docs-test: skip (…) -->` marker with the reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { allPages, root } from './pages.js';
import { codeBlocks, type CodeBlock } from './readme-commands.js';

interface Example extends CodeBlock {
  readonly page: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
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
      const port = await freePort();
      const source = e.lines.join('\n').replaceAll('port: 3000', `port: ${port}`);
      const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      const file = path.join(dir, `run-${i}.mjs`);
      writeFileSync(file, js);
      const cwd = mkdtempSync(path.join(dir, 'cwd-'));
      const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `${e.page} line ${e.line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(0);
    }
  });
});
