/**
 * Reads the TypeScript (and script) sources of the repository — not `dist` — with the TypeScript
 * parser, and lists what each file imports, how long it is, and the few expressions the
 * architecture rules look for. Parsing, not grepping, so comments and strings never count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  /** The module specifier as written. */
  readonly specifier: string;
  readonly line: number;
  /** `import type`, `export type`, `import('x').T`: erased at run time. */
  readonly typeOnly: boolean;
  /** For a relative specifier, the repository path it points to (`server/ddp/session.js`); else null. */
  readonly target: string | null;
}

export interface Finding {
  readonly line: number;
  readonly text: string;
}

export interface SourceInfo {
  /** Repository-relative path with `/` separators. */
  readonly path: string;
  readonly lineCount: number;
  readonly imports: readonly ImportRef[];
  /** Reads of the environment: `process.env`, `process['env']`, `{ env } = process`, `node:process` imports. */
  readonly envReads: readonly Finding[];
  /** Free references to Node-only globals (`Buffer`, `require`, `__dirname`, `__filename`). */
  readonly nodeGlobals: readonly Finding[];
}

const SOURCE_EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist']);
export const NODE_ONLY_GLOBALS: ReadonlySet<string> = new Set(['Buffer', 'require', '__dirname', '__filename']);

/** Every source file under `dirs` (repository-relative), recursively; `.d.ts` files excluded. */
export function listSources(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return; // a folder that does not exist yet has nothing to check
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
      const child = posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (SOURCE_EXTENSIONS.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  for (const dir of dirs) walk(dir);
  return out.sort();
}

/** Lines as an editor counts them: a final newline does not start another line. */
export function countLines(text: string): number {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

/** The top-level folder of a repository path (`server/two-factor/guard.ts` → `server`). */
export function topFolder(path: string): string {
  return path.split('/')[0] ?? '';
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; null for relative and built-in modules. */
export function packageName(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isNodeBuiltin(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** `node:fs`, `fs`, `fs/promises`, `node:test`... */
export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || isBuiltin(specifier);
}

function scriptKind(path: string): ts.ScriptKind {
  return /\.[mc]?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

function stringArgument(node: ts.Node | undefined): string | null {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
}

function isProcess(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return node.text === 'process';
  return ts.isPropertyAccessExpression(node) && node.name.text === 'process' && ts.isIdentifier(node.expression) && node.expression.text === 'globalThis';
}

/** True when an identifier is a name being declared or a property name, not a reference. */
function isNameNotReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return false;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (ts.isQualifiedName(p) && p.right === id) return true;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p)
    || ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p) || ts.isEnumMember(p)) && p.name === id) return true;
  if (ts.isBindingElement(p) && p.propertyName === id) return true;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p)
    || ts.isBindingElement(p)) && p.name === id) return true;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p)) return true;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return true;
  return false;
}

/** Parse one file and collect what the rules need. */
export function readSource(root: string, path: string): SourceInfo {
  const text = readFileSync(join(root, path), 'utf8');
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKind(path));
  const lineOf = (node: ts.Node): number => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const snippet = (node: ts.Node): string => node.getText(sf).replace(/\s+/g, ' ').slice(0, 80);
  const imports: ImportRef[] = [];
  const envReads: Finding[] = [];
  const nodeGlobals: Finding[] = [];

  const addImport = (specifier: string, node: ts.Node, typeOnly: boolean): void => {
    const target = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), specifier)) : null;
    imports.push({ specifier, line: lineOf(node), typeOnly, target });
    if (specifier === 'process' || specifier === 'node:process') envReads.push({ line: lineOf(node), text: `imports '${specifier}'` });
  };

  for (const ref of sf.typeReferenceDirectives) {
    // `/// <reference types="node" />` pulls in every Node global type.
    imports.push({ specifier: ref.fileName === 'node' ? 'node:*' : ref.fileName, line: sf.getLineAndCharacterOfPosition(ref.pos).line + 1, typeOnly: true, target: null });
  }

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const spec = stringArgument(node.moduleSpecifier);
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined
        && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (spec !== null) addImport(spec, node, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const spec = stringArgument(node.moduleSpecifier);
      const typeOnly = node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause)
        && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (spec !== null) addImport(spec, node, typeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const spec = stringArgument(node.moduleReference.expression);
      if (spec !== null) addImport(spec, node, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const spec = stringArgument(node.argument.literal);
      if (spec !== null) addImport(spec, node, true);
    } else if (ts.isCallExpression(node)) {
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      const spec = stringArgument(node.arguments[0]);
      if ((isDynamicImport || isRequire) && spec !== null) addImport(spec, node, false);
      if ((isDynamicImport || isRequire) && spec === null) imports.push({ specifier: `<computed: ${snippet(node)}>`, line: lineOf(node), typeOnly: false, target: null });
    }

    if (ts.isPropertyAccessExpression(node) && node.name.text === 'env' && isProcess(node.expression)) {
      envReads.push({ line: lineOf(node), text: snippet(node) });
    } else if (ts.isElementAccessExpression(node) && isProcess(node.expression)) {
      envReads.push({ line: lineOf(node), text: snippet(node) });
    } else if (ts.isVariableDeclaration(node) && node.initializer && isProcess(node.initializer) && ts.isObjectBindingPattern(node.name)) {
      envReads.push({ line: lineOf(node), text: snippet(node) });
    }

    if (ts.isIdentifier(node) && NODE_ONLY_GLOBALS.has(node.text) && !isNameNotReference(node)) {
      nodeGlobals.push({ line: lineOf(node), text: snippet(node.parent ?? node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);

  return { path, lineCount: countLines(text), imports, envReads, nodeGlobals };
}
