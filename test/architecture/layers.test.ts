/**
 * Architecture rules, checked on the TypeScript sources (not `dist`):
 * - imports go downward only: `protocol/` is pure and runs in browsers, `client/` never reaches
 *   into `server/` and stays browser-safe outside `client/node.ts`, `server/` never imports
 *   `client/`, and only `server/transport/` speaks `ws`;
 * - every package imported is declared in package.json (run-time code: in `dependencies`);
 * - no source file of protocol/server/client is longer than 400 lines;
 * - nothing in `server/two-factor/` or `server/hooks/` reads the environment: no variable can
 *   switch the guard off.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../docs/repo-root.js';
import { isNodeBuiltin, listSources, packageName, readSource, topFolder, type ImportRef, type SourceInfo } from './sources.js';

const root = findRepoRoot(import.meta.url);
const MAX_LINES = 400;
const LIBRARY_DIRS = ['protocol', 'server', 'client'] as const;
const ALL_SOURCE_DIRS = [...LIBRARY_DIRS, 'web', 'test', 'bench', 'scripts'] as const;

let library: SourceInfo[] = [];
let everything: SourceInfo[] = [];

function filesUnder(prefix: string): SourceInfo[] {
  return library.filter((f) => f.path.startsWith(prefix));
}

const at = (file: SourceInfo, ref: { line: number }): string => `${file.path}:${ref.line}`;

/** Every import of `files` for which `bad` gives a reason, as `path:line imports 'x' (reason)`. */
function offendingImports(files: readonly SourceInfo[], bad: (ref: ImportRef, file: SourceInfo) => string | null): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const ref of file.imports) {
      const why = bad(ref, file);
      if (why !== null) out.push(`${at(file, ref)} imports '${ref.specifier}'${ref.typeOnly ? ' (type only)' : ''}: ${why}`);
    }
  }
  return out;
}

function expectNone(offenders: readonly string[], rule: string): void {
  expect(offenders, `${rule}:\n  ${offenders.join('\n  ')}\n`).to.deep.equal([]);
}

/**
 * The one exception to "server/ never imports client/": the `ddp-guard` binary ships both
 * sides, and its `call`, `shell` and `script` commands are clients of a server (any DDP
 * server). Only these files may use client/ (and, for `script`'s raw socket, ws); nothing
 * the server runs imports them.
 */
const CLI_CLIENT_FILES = (path: string): boolean =>
  /^server\/cli\/(commands\/(call|shell|script)|remote)\.ts$/.test(path) || path.startsWith('server/cli/script/');

const into = (ref: ImportRef, folder: string): boolean => ref.target !== null && topFolder(ref.target) === folder;
const outsideRepo = (ref: ImportRef): boolean => ref.target !== null && ref.target.startsWith('..');

describe('architecture', () => {
  before(() => {
    library = listSources(root, LIBRARY_DIRS).map((p) => readSource(root, p));
    everything = [...library, ...listSources(root, ALL_SOURCE_DIRS.filter((d) => !(LIBRARY_DIRS as readonly string[]).includes(d))).map((p) => readSource(root, p))];
    expect(filesUnder('protocol/'), 'protocol/ sources found').to.not.be.empty;
    expect(filesUnder('server/'), 'server/ sources found').to.not.be.empty;
  });

  describe('layers: imports go downward only', () => {
    it('protocol/ imports neither ws, nor Node built-ins, nor server/ or client/', () => {
      expectNone(offendingImports(filesUnder('protocol/'), (ref) => {
        if (ref.specifier === 'ws') return 'protocol/ must not depend on a transport';
        if (ref.specifier === 'node:*' || isNodeBuiltin(ref.specifier)) return 'protocol/ also runs in browsers';
        if (into(ref, 'server')) return 'protocol/ is below server/';
        if (into(ref, 'client')) return 'protocol/ is below client/';
        if (outsideRepo(ref)) return 'outside the repository';
        return null;
      }), 'protocol/ must stay pure and browser-safe');
    });

    it('protocol/ uses no Node-only globals (Buffer, require, __dirname, __filename)', () => {
      expectNone(filesUnder('protocol/').flatMap((f) => f.nodeGlobals.map((g) => `${at(f, g)}: ${g.text}`)), 'Node-only globals in protocol/');
    });

    it('client/ never imports server/, and only client/node.ts imports ws or Node built-ins', () => {
      expectNone(offendingImports(filesUnder('client/'), (ref, file) => {
        if (into(ref, 'server')) return 'the client must not depend on the server';
        if (outsideRepo(ref)) return 'outside the repository';
        if (file.path === 'client/node.ts') return null;
        if (ref.specifier === 'ws') return 'only client/node.ts may use ws; the rest runs in browsers';
        if (ref.specifier === 'node:*' || isNodeBuiltin(ref.specifier)) return 'only client/node.ts may use Node built-ins; the rest runs in browsers';
        return null;
      }), 'client/ layering');
    });

    it('client/ (except client/node.ts) uses no Node-only globals (Buffer, require, __dirname, __filename)', () => {
      const files = filesUnder('client/').filter((f) => f.path !== 'client/node.ts');
      expectNone(files.flatMap((f) => f.nodeGlobals.map((g) => `${at(f, g)}: ${g.text}`)), 'Node-only globals in browser code of client/');
    });

    it('server/ never imports client/ (except the CLI commands that are clients)', () => {
      expectNone(offendingImports(filesUnder('server/'), (ref, file) => {
        if (into(ref, 'client') && !CLI_CLIENT_FILES(file.path)) return 'the server must not depend on the client';
        if (outsideRepo(ref)) return 'outside the repository';
        return null;
      }), 'server/ layering');
    });

    it('web/ (the account page) uses client/ and protocol/ only: no server/, ws or Node built-ins', () => {
      const web = everything.filter((f) => f.path.startsWith('web/'));
      expect(web, 'web/ sources found').to.not.be.empty;
      expectNone(offendingImports(web, (ref) => {
        if (into(ref, 'server')) return 'the page runs in browsers: it talks to the server over DDP only';
        if (ref.specifier === 'ws') return 'browsers have their own WebSocket';
        if (ref.specifier === 'node:*' || isNodeBuiltin(ref.specifier)) return 'the page runs in browsers';
        if (outsideRepo(ref)) return 'outside the repository';
        return null;
      }), 'web/ layering');
    });

    it('in server/, only server/transport/ (and the transcript runner of the CLI) imports ws', () => {
      expectNone(offendingImports(filesUnder('server/').filter((f) => !f.path.startsWith('server/transport/') && !f.path.startsWith('server/cli/script/')), (ref) =>
        ref.specifier === 'ws' || ref.specifier.startsWith('ws/') ? 'the transport is the only importer of ws' : null,
      ), 'ws outside server/transport/');
    });
  });

  describe('dependencies', () => {
    it('every imported package is declared in package.json; run-time code uses only dependencies', () => {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
      const declared = new Set([...runtime, ...Object.keys(pkg.devDependencies ?? {})]);
      const libraryPaths = new Set(library.map((f) => f.path));
      expectNone(offendingImports(everything, (ref, file) => {
        // A computed name (the CLI's `--app` module) is the user's module, not a dependency.
        if (ref.specifier.startsWith('<computed')) return null;
        if (ref.specifier === 'node:*') return null;
        const name = packageName(ref.specifier);
        if (name === null) return null;
        // Type packages come from @types/<name>; a type-only import needs no run-time package.
        const typesName = `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;
        if (!declared.has(name) && !(ref.typeOnly && declared.has(typesName))) return `'${name}' is not in package.json (installed by hand?)`;
        if (libraryPaths.has(file.path) && !ref.typeOnly && !runtime.has(name)) return `'${name}' is a devDependency, but ${topFolder(file.path)}/ runs in production`;
        return null;
      }), 'undeclared dependencies');
    });
  });

  describe('size', () => {
    it(`no file in protocol/, server/ or client/ is longer than ${MAX_LINES} lines`, () => {
      const long = library.filter((f) => f.lineCount > MAX_LINES).sort((a, b) => b.lineCount - a.lineCount);
      expectNone(long.map((f) => `${f.path}: ${f.lineCount} lines`), `files over ${MAX_LINES} lines (split them, one job per file)`);
    });
  });

  describe('the guard has no environment switch', () => {
    it('nothing in server/two-factor/ or server/hooks/ reads process.env', () => {
      const files = [...filesUnder('server/two-factor/'), ...filesUnder('server/hooks/')];
      expect(files, 'server/two-factor/ and server/hooks/ sources found').to.not.be.empty;
      expectNone(files.flatMap((f) => f.envReads.map((r) => `${at(f, r)}: ${r.text}`)), 'environment reads in the 2FA guard or the hooks');
    });
  });
});
