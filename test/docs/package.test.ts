/**
 * What `npm pack` ships: what users need and nothing else. The compiled server, client and
 * protocol with their type declarations, the built account page, the example chat, the README
 * and the pages of docs/ it links to; not the compiled tests or bench, TypeScript sources or
 * source maps. Every relative import of a shipped module resolves to a shipped file, every
 * relative link of a shipped page to a shipped file, and the entry points (`bin`, `exports`)
 * are in it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { findRepoRoot } from './repo-root.js';
import { allPages } from './pages.js';
import { brokenLinks } from './links.js';

const root = findRepoRoot(import.meta.url);

describe('npm package contents', function () {
  this.timeout(60_000);
  let files: Set<string>;
  let pkg: { bin: Record<string, string>; exports: Record<string, string>; files: string[] };

  before(() => {
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(packed.status, packed.stderr).to.equal(0);
    const [report] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    files = new Set(report.files.map((f) => f.path));
    pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as typeof pkg;
  });

  it('holds the compiled library, the page, the example, the README and docs/, and no tests, bench, sources or maps', () => {
    const list = [...files];
    expect(list.filter((f) => /^dist\/(test|bench)\//.test(f)), 'compiled tests and bench').to.deep.equal([]);
    expect(list.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'TypeScript sources').to.deep.equal([]);
    expect(list.filter((f) => f.endsWith('.map')), 'source maps (their sources are not shipped)').to.deep.equal([]);
    expect(list.filter((f) => /^(test|bench|scripts|web|server|client|protocol)\//.test(f)), 'folders of the repository').to.deep.equal([]);
    const pages = allPages().map((p) => p.path);
    expect(pages.filter((p) => !files.has(p)), 'pages of the documentation').to.deep.equal([]);
    for (const needed of ['README.md', 'package.json', 'dist/server/index.d.ts', 'dist/client/index.d.ts', 'dist/web/index.html', 'dist/web/app.js', 'dist/web/app.css', 'dist/web/icon.svg', 'examples/chat/app.js', 'dist/server/security/password-worker.js', 'dist/cli/main.js']) {
      expect(files.has(needed), needed).to.equal(true);
    }
  });

  it('ships every file a shipped page links to', () => {
    // A page written by another change is shipped once it exists (docs/ is in `files`).
    const shipped = (abs: string): boolean => files.has(path.relative(root, abs).split(path.sep).join('/'));
    const pages = [...files].filter((f) => f.endsWith('.md'));
    const problems = pages.flatMap((page) => brokenLinks(path.join(root, page), readFileSync(path.join(root, page), 'utf8'), shipped).map((p) => `${page} ${p}`));
    expect(problems).to.deep.equal([]);
  });

  it('ships the bin and every export, and every relative import of a shipped module', () => {
    const entries = [...Object.values(pkg.bin), ...Object.values(pkg.exports)].map((p) => p.replace(/^\.\//, ''));
    expect(entries.filter((e) => !files.has(e)), 'entry points missing').to.deep.equal([]);
    const missing: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.js')) continue;
      const text = readFileSync(path.join(root, file), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|new URL\(\s*)'(\.\.?\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!));
        // `new URL('../../web/', import.meta.url)`: a folder the page is served from.
        const present = target.endsWith('/') ? [...files].some((f) => f.startsWith(target)) : files.has(target);
        if (!present && !target.endsWith('package.json')) missing.push(`${file} → ${m[1]!}`);
      }
    }
    expect(missing, 'imports of files that are not shipped').to.deep.equal([]);
  });
});
