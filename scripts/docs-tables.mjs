#!/usr/bin/env node
/**
 * Writes the reference tables of docs/ from the code, so they never drift by hand, each into its
 * page: options (`DEFAULTS` in server/services/options.ts, meanings from their TSDoc) into
 * docs/options.md, method and protocol errors (`METHOD_ERRORS`, `PROTOCOL_ERRORS` in
 * protocol/errors.ts) into docs/errors.md, close codes (`CLOSE_CODES` in protocol/constants.ts)
 * into docs/wire-protocol.md. Reads the TypeScript sources, so no build is needed. Also writes
 * the CLI's option-help.ts, the `serve --help` text of each option's flag, from the same TSDoc.
 *
 *   node scripts/docs-tables.mjs           print the tables
 *   node scripts/docs-tables.mjs --write   replace them in their pages between the GENERATED
 *                                          markers and rewrite option-help.ts (`npm run docs`)
 *   node scripts/docs-tables.mjs --check   exit 1 when any differs from the code
 *
 * test/docs/readme.test.ts checks the same tables against the running code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parse(relPath) {
  const text = readFileSync(join(root, relPath), 'utf8');
  return ts.createSourceFile(relPath, text, ts.ScriptTarget.Latest, true);
}

/** Peel `Object.freeze(...)`, `as`, `satisfies` and parentheses off an initializer. */
function unwrap(node) {
  for (;;) {
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) node = node.expression;
    else if (ts.isCallExpression(node) && node.expression.getText() === 'Object.freeze' && node.arguments.length === 1) node = node.arguments[0];
    else return node;
  }
}

/** The object literal of `export const NAME = ...`. */
function exportedObject(source, name) {
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer) {
        const value = unwrap(d.initializer);
        if (ts.isObjectLiteralExpression(value)) return value;
      }
    }
  }
  throw new Error(`${source.fileName}: no exported object literal named ${name}`);
}

function propertyName(p) {
  if (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) return p.name.text;
  throw new Error(`unsupported property name ${p.name.getText()}`);
}

/** The TSDoc just above a property: its text and its `@default`, each on one line. */
function tsdoc(source, node) {
  const text = source.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const doc = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**')).pop();
  if (!doc) return { text: '', default: null };
  const body = doc
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const at = body.indexOf('@default');
  return at === -1 ? { text: body, default: null } : { text: body.slice(0, at).trim(), default: body.slice(at + '@default'.length).trim() };
}

const escapeCell = (s) => String(s).replace(/\|/g, '\\|');
const code = (s) => '`' + escapeCell(s) + '`';

function literal(node) {
  node = unwrap(node);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  throw new Error(`expected a literal, got ${node.getText()}`);
}

/** The `@default` text when it says more than the code: `45_000` — 45 s; `5` — Meteor's accounts rule. */
function defaultNote(value, text) {
  if (text === null || text === value) return '';
  let note = text;
  if (note.startsWith(`${value} `)) note = note.slice(value.length + 1).replace(/^\((.*)\)$/, '$1');
  return ` — ${escapeCell(note)}`;
}

function optionsTable() {
  const source = parse('server/services/options.ts');
  const rows = ['| option | default | meaning |', '| --- | --- | --- |'];
  for (const p of exportedObject(source, 'DEFAULTS').properties) {
    if (!ts.isPropertyAssignment(p)) throw new Error(`DEFAULTS: unsupported member ${p.getText()}`);
    const value = unwrap(p.initializer).getText();
    const doc = tsdoc(source, p);
    rows.push(`| ${code(propertyName(p))} | ${code(value)}${defaultNote(value, doc.default)} | ${escapeCell(doc.text)} |`);
  }
  return rows.join('\n');
}

function catalogue(name) {
  const source = parse('protocol/errors.ts');
  return exportedObject(source, name).properties.map((p) => {
    const entry = {};
    for (const field of unwrap(p.initializer).properties) entry[propertyName(field)] = literal(field.initializer);
    return entry;
  });
}

function methodErrorsTable() {
  const rows = ['| error | reason | meaning |', '| --- | --- | --- |'];
  for (const e of catalogue('METHOD_ERRORS')) rows.push(`| ${code(e.error)} | ${code(e.reason)} | ${escapeCell(e.meaning)} |`);
  return rows.join('\n');
}

function protocolErrorsTable() {
  const rows = ['| reason | meaning |', '| --- | --- |'];
  for (const e of catalogue('PROTOCOL_ERRORS')) rows.push(`| ${code(e.reason)} | ${escapeCell(e.meaning)} |`);
  return rows.join('\n');
}

function closeCodesTable() {
  const source = parse('protocol/constants.ts');
  const rows = ['| code | name | meaning |', '| --- | --- | --- |'];
  for (const p of exportedObject(source, 'CLOSE_CODES').properties) {
    rows.push(`| ${code(literal(p.initializer))} | ${code(propertyName(p))} | ${escapeCell(tsdoc(source, p).text)} |`);
  }
  return rows.join('\n');
}

/** cli/option-help.ts: each option's meaning as plain text (no Markdown code spans). */
function optionHelpModule() {
  const source = parse('server/services/options.ts');
  const lines = [
    '/**',
    " * The help text of each `serve` flag: the options' TSDoc in server/services/options.ts, as plain text.",
    ' * Generated by `node scripts/docs-tables.mjs --write`; do not edit (test/docs checks it).',
    ' * @module',
    ' */',
    "import type { OptionName } from './config-values.js';",
    '',
    '/** What each option does, one line each. */',
    'export const OPTION_HELP: Readonly<Record<OptionName, string>> = Object.freeze({',
  ];
  for (const p of exportedObject(source, 'DEFAULTS').properties) {
    const text = tsdoc(source, p).text.replace(/`/g, '');
    lines.push(`  ${propertyName(p)}: ${JSON.stringify(text).replace(/'/g, "\\'").replace(/^"|"$/g, "'").replace(/\\"/g, '"')},`);
  }
  lines.push('});', '');
  return lines.join('\n');
}

/** Each table, the page it is written into, and how it is built. */
const TABLES = {
  options: { page: 'docs/options.md', build: optionsTable },
  'method-errors': { page: 'docs/errors.md', build: methodErrorsTable },
  'protocol-errors': { page: 'docs/errors.md', build: protocolErrorsTable },
  'close-codes': { page: 'docs/wire-protocol.md', build: closeCodesTable },
};

/** The CLI's generated help module (the CLI's folder may move: this is its one mention here). */
const OPTION_HELP = 'cli/option-help.ts';

/** Replace each `<!-- BEGIN GENERATED: name -->` … `<!-- END GENERATED: name -->` block of a page. */
function fill(page, text) {
  let out = text;
  for (const [name, { page: target, build }] of Object.entries(TABLES)) {
    if (target !== page) continue;
    const begin = `<!-- BEGIN GENERATED: ${name} (node scripts/docs-tables.mjs --write) -->`;
    const end = `<!-- END GENERATED: ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from === -1 || to === -1 || to < from) throw new Error(`${page}: markers for '${name}' not found:\n${begin}\n${end}`);
    out = `${out.slice(0, from + begin.length)}\n${build()}\n${out.slice(to)}`;
  }
  return out;
}

/** Every generated file: its path, what it holds now and what the code says it should hold. */
function targets() {
  const read = (rel) => {
    try {
      return readFileSync(join(root, rel), 'utf8');
    } catch {
      return ''; // Written below.
    }
  };
  const pages = [...new Set(Object.values(TABLES).map((t) => t.page))];
  return [
    ...pages.map((page) => {
      const now = read(page);
      return { path: page, now, wanted: fill(page, now) };
    }),
    { path: OPTION_HELP, now: read(OPTION_HELP), wanted: optionHelpModule() },
  ];
}

const mode = process.argv[2];
if (mode === '--write' || mode === '--check') {
  const stale = targets().filter((t) => t.now !== t.wanted);
  if (mode === '--write') {
    for (const t of stale) writeFileSync(join(root, t.path), t.wanted);
    console.log(stale.length === 0 ? 'the generated tables already match the code' : `updated: ${stale.map((t) => t.path).join(', ')}`);
  } else if (stale.length > 0) {
    console.error(`${stale.map((t) => t.path).join(', ')} differ from the code: run npm run docs`);
    process.exit(1);
  } else {
    console.log('the generated tables match the code');
  }
} else if (mode === undefined) {
  for (const [name, { page, build }] of Object.entries(TABLES)) console.log(`<!-- ${name} (${page}) -->\n${build()}\n`);
} else {
  console.error('usage: node scripts/docs-tables.mjs [--write | --check]');
  process.exit(2);
}
