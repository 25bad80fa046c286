#!/usr/bin/env node
/**
 * Writes the README's reference tables from the code, so they never drift by hand:
 * options (`DEFAULTS` in server/services/options.ts, meanings from their TSDoc), method and protocol
 * errors (`METHOD_ERRORS`, `PROTOCOL_ERRORS` in protocol/errors.ts) and close codes
 * (`CLOSE_CODES` in protocol/constants.ts). Reads the TypeScript sources, so no build is needed.
 * Also writes cli/option-help.ts, the `serve --help` text of each option's flag, from
 * the same TSDoc.
 *
 *   node scripts/docs-tables.mjs           print the tables
 *   node scripts/docs-tables.mjs --write   replace them in README.md between the GENERATED markers
 *                                          and rewrite cli/option-help.ts
 *   node scripts/docs-tables.mjs --check   exit 1 when either differs from the code
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

const TABLES = {
  options: optionsTable,
  'method-errors': methodErrorsTable,
  'protocol-errors': protocolErrorsTable,
  'close-codes': closeCodesTable,
};

/** Replace each `<!-- BEGIN GENERATED: name -->` … `<!-- END GENERATED: name -->` block. */
function fill(readme) {
  let out = readme;
  for (const [name, build] of Object.entries(TABLES)) {
    const begin = `<!-- BEGIN GENERATED: ${name} (node scripts/docs-tables.mjs --write) -->`;
    const end = `<!-- END GENERATED: ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from === -1 || to === -1 || to < from) throw new Error(`README.md: markers for '${name}' not found:\n${begin}\n${end}`);
    out = `${out.slice(0, from + begin.length)}\n${build()}\n${out.slice(to)}`;
  }
  return out;
}

const mode = process.argv[2];
const readmePath = join(root, 'README.md');
const helpPath = join(root, 'cli', 'option-help.ts');
if (mode === '--write' || mode === '--check') {
  const readme = readFileSync(readmePath, 'utf8');
  const filled = fill(readme);
  let help = '';
  try {
    help = readFileSync(helpPath, 'utf8');
  } catch {
    // Written below.
  }
  const helpFilled = optionHelpModule();
  if (mode === '--write') {
    if (filled !== readme) writeFileSync(readmePath, filled);
    if (helpFilled !== help) writeFileSync(helpPath, helpFilled);
    console.log(filled === readme ? 'README.md tables already match the code' : 'README.md tables updated');
    console.log(helpFilled === help ? 'cli/option-help.ts already matches the code' : 'cli/option-help.ts updated');
  } else if (filled !== readme || helpFilled !== help) {
    console.error(`${filled !== readme ? 'README.md tables' : 'cli/option-help.ts'} differ from the code: run node scripts/docs-tables.mjs --write`);
    process.exit(1);
  } else {
    console.log('README.md tables and cli/option-help.ts match the code');
  }
} else if (mode === undefined) {
  for (const [name, build] of Object.entries(TABLES)) console.log(`<!-- ${name} -->\n${build()}\n`);
} else {
  console.error('usage: node scripts/docs-tables.mjs [--write | --check]');
  process.exit(2);
}
