/**
 * Every wire error comes from the catalogue (`METHOD_ERRORS` in protocol/errors.ts), as fastify's
 * `lib/errors.js` is its only source: no source builds a `DdpError` from a code or a reason
 * written on the spot, and every catalogue entry is documented in the error table the docs
 * generate (`npm run docs`). Parsed with the TypeScript parser, so comments and strings never count.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { METHOD_ERRORS } from '../../protocol/errors.js';
import { findRepoRoot } from '../docs/repo-root.js';
import { cellText, splitRow } from '../docs/markdown.js';
import { listSources } from './sources.js';

const root = findRepoRoot(import.meta.url);
/** Where wire errors are raised; `cli` for when the CLI moves out of `server/`. */
const RAISING_DIRS = ['server', 'client', 'cli'] as const;
const CATALOGUE = 'protocol/errors.ts';

/** A literal (string, number, template) anywhere inside `node`. */
function containsLiteral(node: ts.Node): boolean {
  if (ts.isStringLiteral(node) || ts.isNumericLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) return true;
  return ts.forEachChild(node, (child) => (containsLiteral(child) ? true : undefined)) === true;
}

/**
 * `new DdpError(...)` calls whose code or reason (the first two arguments) holds a literal, as
 * `line: text`. Rebuilding an error from another one (`new DdpError(err.error, err.reason)`) is
 * not a new wire error and passes.
 */
function literalDdpErrors(path: string, text: string): string[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'DdpError'
      && (node.arguments ?? []).slice(0, 2).some(containsLiteral)) {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      out.push(`${path}:${line}: ${node.getText(sf).replace(/\s+/g, ' ').slice(0, 100)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The markdown files the reference lives in: the README and anything under docs/. */
function markdownFiles(): string[] {
  const out = ['README.md'];
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else if (e.name.endsWith('.md')) out.push(`${rel}/${e.name}`);
    }
  };
  walk('docs');
  return out;
}

/** The rows `error / reason` of the generated method-errors table, wherever the docs keep it. */
function documentedErrors(): { file: string; rows: Set<string> } | null {
  const begin = '<!-- BEGIN GENERATED: method-errors';
  for (const file of markdownFiles()) {
    const text = readFileSync(join(root, file), 'utf8');
    const from = text.indexOf(begin);
    if (from === -1) continue;
    const to = text.indexOf('<!-- END GENERATED: method-errors', from);
    const rows = text.slice(from, to === -1 ? undefined : to).split('\n').filter((l) => l.startsWith('|')).slice(2);
    return { file, rows: new Set(rows.map((l) => splitRow(l)).map((cells) => `${cellText(cells[0] ?? '')} / ${cellText(cells[1] ?? '')}`)) };
  }
  return null;
}

describe('architecture: every wire error comes from the catalogue', () => {
  it('finds literal codes and reasons in new DdpError(...), and lets rebuilt errors pass', () => {
    const sample = [
      "throw new DdpError(403, 'Nope');",
      'throw new DdpError(`code-${x}`, reason);',
      "throw new DdpError(e.error, flag ? 'a' : 'b');",
      'return new DdpError(err.error, err.reason, err.details);',
      "throw catalogueError('matchFailed');",
      '// new DdpError(403, "in a comment")',
      "const s = \"new DdpError(403, 'in a string')\";",
    ].join('\n');
    expect(literalDdpErrors('sample.ts', sample).map((f) => f.split(':')[1])).to.deep.equal(['1', '2', '3']);
  });

  it(`no source under ${RAISING_DIRS.join('/, ')}/ builds a DdpError from a literal: use catalogueError() and ${CATALOGUE}`, () => {
    const files = listSources(root, RAISING_DIRS).filter((p) => p !== CATALOGUE);
    expect(files.length, 'sources found').to.be.greaterThan(50);
    const offenders = files.flatMap((p) => literalDdpErrors(p, readFileSync(join(root, p), 'utf8')));
    expect(offenders, `new DdpError with a literal code or reason (add a METHOD_ERRORS entry):\n  ${offenders.join('\n  ')}\n`).to.deep.equal([]);
  });

  it('documents every catalogue entry in the generated error table (npm run docs)', () => {
    const documented = documentedErrors();
    expect(documented, 'a method-errors table in README.md or docs/').to.not.equal(null);
    const missing = Object.entries(METHOD_ERRORS)
      .filter(([, e]) => !documented!.rows.has(`${String(e.error)} / ${e.reason}`))
      .map(([name, e]) => `${name}: \`${String(e.error)}\` | \`${e.reason}\``);
    expect(missing, `not in ${documented!.file}'s error table (run npm run docs):\n  ${missing.join('\n  ')}\n`).to.deep.equal([]);
  });

  it('gives each entry its own code and reason: no two entries say the same thing', () => {
    const keys = Object.values(METHOD_ERRORS).map((e) => `${String(e.error)} / ${e.reason}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).to.deep.equal([]);
  });
});
