/**
 * Architecture rules, checked on the TypeScript sources (not `dist`):
 * - imports go downward only: `protocol/` is pure and runs in browsers, `client/` never reaches
 *   into `server/` and stays browser-safe outside `client/node.ts`, `server/` never imports
 *   `client/` or `cli/`, and only `server/transport/` speaks `ws` on the server side;
 * - inside `server/`, folders form a ladder (SERVER_LADDER, drawn in docs/architecture.md): a
 *   folder imports only folders on lower rungs, and no file imports itself back through others;
 * - every package imported is declared in package.json (run-time code: in `dependencies`);
 * - no source file of protocol/server/client/cli is longer than 400 lines;
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
const LIBRARY_DIRS = ['protocol', 'server', 'client', 'cli'] as const;
const ALL_SOURCE_DIRS = [...LIBRARY_DIRS, 'web', 'test', 'bench', 'scripts'] as const;

/**
 * The folders of server/, bottom rung first. A folder may import the folders of lower rungs only
 * (never one on its own rung); the files at the top of server/ (`guard-server.ts`) stand above
 * them all, and `server/index.ts`, the package's entry, above those. docs/architecture.md draws
 * this ladder.
 */
export const SERVER_LADDER: readonly (readonly string[])[] = [
  ['runtime'],
  ['storage', 'mail'],
  ['security'],
  ['services'],
  ['calls'],
  ['hooks', 'publications', 'redis'],
  ['transport'],
  ['ddp'],
  ['accounts'],
  ['two-factor'],
  ['built-ins'],
  ['streams', 'http-api', 'web', 'observability'],
  ['multi-process'],
];
const TOP_RUNG = SERVER_LADDER.length;

/** The rung of a server/ path: its folder's, or TOP_RUNG for a file at the top of server/; undefined for an unknown folder. */
function rungOf(path: string): number | undefined {
  const parts = path.split('/');
  if (parts.length === 2) return parts[1] === 'index.ts' ? TOP_RUNG + 1 : TOP_RUNG;
  const folder = parts[1]!;
  const rung = SERVER_LADDER.findIndex((r) => r.includes(folder));
  return rung === -1 ? undefined : rung;
}

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

const into = (ref: ImportRef, folder: string): boolean => ref.target !== null && topFolder(ref.target) === folder;
const outsideRepo = (ref: ImportRef): boolean => ref.target !== null && ref.target.startsWith('..');

/** Strongly connected groups of more than one file (Tarjan), each as a closed path. */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push([...group.reverse(), group[0]!]);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return groups;
}

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

    it('server/ never imports client/ or cli/', () => {
      expectNone(offendingImports(filesUnder('server/'), (ref) => {
        if (into(ref, 'client')) return 'the server must not depend on the client';
        if (into(ref, 'cli')) return 'the command line is a program on top of the server and the client';
        if (outsideRepo(ref)) return 'outside the repository';
        return null;
      }), 'server/ layering');
    });

    it('cli/ is the program on top: it imports protocol/, client/ and server/, never test/, bench/ or web/', () => {
      expect(filesUnder('cli/'), 'cli/ sources found').to.not.be.empty;
      expectNone(offendingImports(filesUnder('cli/'), (ref) => {
        if (into(ref, 'test') || into(ref, 'bench') || into(ref, 'web')) return 'the shipped program must not depend on tests, the bench or the page sources';
        if (outsideRepo(ref)) return 'outside the repository';
        return null;
      }), 'cli/ layering');
    });

    it('every folder of server/ is on the ladder, and imports only folders on lower rungs', () => {
      const unknown = [...new Set(filesUnder('server/').filter((f) => rungOf(f.path) === undefined).map((f) => f.path.split('/')[1]))];
      expect(unknown, 'server/ folders missing from SERVER_LADDER (add each to its rung, and to docs/architecture.md)').to.deep.equal([]);
      expectNone(offendingImports(filesUnder('server/'), (ref, file) => {
        if (ref.target === null || !ref.target.startsWith('server/')) return null;
        const from = rungOf(file.path)!;
        const to = rungOf(ref.target);
        const sameFolder = file.path.split('/')[1] === ref.target.split('/')[1] && file.path.split('/').length > 2 && ref.target.split('/').length > 2;
        if (sameFolder) return null;
        if (to === undefined) return 'into a folder that is not on the ladder';
        if (to >= from) return `rung ${from} (${file.path.split('/')[1]}) may only import lower rungs; ${ref.target.split('/')[1]} is on rung ${to}`;
        return null;
      }), 'server/ ladder');
    });

    it('no import cycles between files of protocol/, server/, client/ or cli/ (type-only imports count too)', () => {
      const edges = new Map<string, string[]>();
      for (const f of library) {
        edges.set(f.path, f.imports.filter((r) => r.target !== null).map((r) => r.target!.replace(/\.js$/, '.ts')));
      }
      const cycles = findCycles(edges);
      expectNone(cycles.map((c) => c.join(' → ')), 'import cycles (break them with a narrow interface on the lower side)');
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

    it('only server/transport/, client/node.ts and the raw sockets of the transcript runner, the load generator and the recording proxy (cli/script/socket.ts, cli/load/transcript-vu.ts, cli/record/proxy.ts) import ws', () => {
      const allowed = (path: string): boolean =>
        path.startsWith('server/transport/') || path === 'client/node.ts' || path === 'cli/script/socket.ts' || path === 'cli/load/transcript-vu.ts' || path === 'cli/record/proxy.ts';
      expectNone(offendingImports(library.filter((f) => !allowed(f.path)), (ref) =>
        ref.specifier === 'ws' || ref.specifier.startsWith('ws/') ? 'the transports are the only importers of ws' : null,
      ), 'ws outside the transports');
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
    it(`no file in protocol/, server/, client/ or cli/ is longer than ${MAX_LINES} lines`, () => {
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
