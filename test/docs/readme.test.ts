/**
 * Docs sync, fastify's habit: the reference tables of docs/ are checked against the code, both
 * ways — every option, error and close code is documented with its real value, and the tables
 * document nothing that does not exist. `npm run docs` (scripts/docs-tables.mjs) regenerates
 * them, each on its page; the README is the front page and opens with the quick start.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CLOSE_CODES } from '../../protocol/constants.js';
import { METHOD_ERRORS, PROTOCOL_ERRORS } from '../../protocol/errors.js';
import { DEFAULTS } from '../../server/services/options.js';
import { moduleConstants, valueOfCode } from './code-value.js';
import { cellText, firstCodeSpan, section, sections, tableWithHeader, type Section, type Table } from './markdown.js';
import { allPages, readPage, root } from './pages.js';

const readme = readPage('README.md').text;
const REGENERATE = 'regenerate the tables with `npm run docs`';
/** The page each generated table is written into (as scripts/docs-tables.mjs has it). */
const TABLE_PAGES = { options: 'docs/options.md', 'method-errors': 'docs/errors.md', 'protocol-errors': 'docs/errors.md', 'close-codes': 'docs/wire-protocol.md' } as const;
const options = readPage(TABLE_PAGES.options).text;
const errorsPage = readPage(TABLE_PAGES['method-errors']).text;
const wireProtocol = readPage(TABLE_PAGES['close-codes']).text;

/** Rows keyed by the text of one column; duplicates are reported, not silently merged. */
function rowsBy(table: Table, column: number): { rows: Map<string, readonly string[]>; duplicates: string[] } {
  const rows = new Map<string, readonly string[]>();
  const duplicates: string[] = [];
  for (const row of table.rows) {
    const key = cellText(row[column] ?? '');
    if (rows.has(key)) duplicates.push(key);
    rows.set(key, row);
  }
  return { rows, duplicates };
}

function expectNoProblems(problems: string[], what: string): void {
  expect(problems, `${what}:\n  ${problems.join('\n  ')}\n(${REGENERATE})`).to.deep.equal([]);
}

function expectMeanings(table: Table, meaningColumn: number, what: string): void {
  const blank = table.rows.filter((row) => (row[meaningColumn] ?? '').trim() === '').map((row) => row.join(' | '));
  expectNoProblems(blank.map((r) => `row without a meaning: ${r}`), what);
}

describe('README', () => {
  it('opens with a Quick start of exactly two commands: npm ci && npm start, and npm test', () => {
    const first = sections(readme).find((s) => s.level === 2);
    expect(first?.title, 'the first section').to.equal('Quick start');
    const body = first!.lines.join('\n');
    const block = /```[a-z]*\n([\s\S]*?)```/.exec(body);
    expect(block, 'a fenced code block in Quick start').to.not.equal(null);
    const commands = block![1]!.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    expect(commands).to.deep.equal(['npm ci && npm start', 'npm test']);
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    expect(scripts, 'package.json scripts').to.include.keys('start', 'test');
  });

  it('.ci/run runs the README test command', () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    const lines = ci.split('\n').map((l) => l.replace(/#.*$/, '').trim());
    expect(lines.some((l) => /(^|[\s;&|(])npm test(\s|$|[;&|)])/.test(l)), '.ci/run calls `npm test`').to.equal(true);
    expect(lines.some((l) => /(^|[\s;&|(])npm ci(\s|$|[;&|)])/.test(l)), '.ci/run calls `npm ci`').to.equal(true);
  });

  it('links to every page of docs/, and docs/README.md (the index) does too', () => {
    const pages = allPages().map((p) => p.path).filter((p) => p.startsWith('docs/') && p !== 'docs/README.md');
    const index = readPage('docs/README.md').text;
    expect(pages.filter((p) => !readme.includes(`](${p})`)), 'pages the README does not link').to.deep.equal([]);
    expect(pages.filter((p) => !index.includes(`](${p.slice('docs/'.length)})`)), 'pages the index does not link').to.deep.equal([]);
  });
});

describe('docs: generated tables', () => {
  it('each table is on exactly one page, the one `npm run docs` writes it into', () => {
    const problems: string[] = [];
    for (const [name, page] of Object.entries(TABLE_PAGES)) {
      const holders = allPages().filter((p) => p.text.includes(`<!-- BEGIN GENERATED: ${name} `)).map((p) => p.path);
      if (holders.length !== 1 || holders[0] !== page) problems.push(`${name}: on ${holders.join(', ') || 'no page'}, expected ${page}`);
    }
    const generator = readFileSync(join(root, 'scripts', 'docs-tables.mjs'), 'utf8');
    for (const [name, page] of Object.entries(TABLE_PAGES)) {
      if (!generator.includes(`'${name}': { page: '${page}'`) && !generator.includes(`${name}: { page: '${page}'`)) problems.push(`${name}: the generator does not write it into ${page}`);
    }
    expectNoProblems(problems, 'generated tables');
  });

  describe('Options table', () => {
    let table: Table;
    let rows: Map<string, readonly string[]>;
    let duplicates: string[];
    // Names such as `MiB`, declared in server/services/options.ts, may appear in a default "as in code".
    let constants: Map<string, unknown>;
    before(() => {
      table = tableWithHeader(section(options, 'Options'), ['option', 'default', 'meaning']);
      ({ rows, duplicates } = rowsBy(table, 0));
      constants = moduleConstants(readFileSync(join(root, 'server', 'services', 'options.ts'), 'utf8'));
    });

    it('documents every key of DEFAULTS with its default value', () => {
      const problems: string[] = [];
      for (const [name, value] of Object.entries(DEFAULTS)) {
        const row = rows.get(name);
        if (!row) {
          problems.push(`${name}: missing (default ${JSON.stringify(value)})`);
          continue;
        }
        const code = firstCodeSpan(row[1] ?? '');
        if (code === null) {
          problems.push(`${name}: the default cell "${row[1] ?? ''}" has no \`code\``);
          continue;
        }
        let documented: unknown;
        try {
          documented = valueOfCode(code, constants);
        } catch (err) {
          problems.push(`${name}: cannot read the default \`${code}\` (${(err as Error).message})`);
          continue;
        }
        if (!isDeepStrictEqual(documented, value)) {
          problems.push(`${name}: docs/options.md says \`${code}\` = ${JSON.stringify(documented)}, the code says ${JSON.stringify(value)}`);
        }
      }
      expectNoProblems(problems, 'Options table vs DEFAULTS');
    });

    it('has no rows for options that do not exist, and no duplicates', () => {
      const extra = [...rows.keys()].filter((name) => !Object.prototype.hasOwnProperty.call(DEFAULTS, name));
      expectNoProblems([...extra.map((n) => `${n}: not an option`), ...duplicates.map((n) => `${n}: listed twice`)], 'Options table');
      expectMeanings(table, 2, 'Options table');
    });
  });

  describe('Errors tables', () => {
    let errors: Section;
    before(() => {
      errors = section(errorsPage, 'Errors');
    });

    it('lists every METHOD_ERRORS entry with its code and reason, and nothing else', () => {
      const table = tableWithHeader(errors, ['error', 'reason', 'meaning']);
      const documented = table.rows.map((row) => ({ error: cellText(row[0] ?? ''), reason: cellText(row[1] ?? '') }));
      const key = (e: { error: string; reason: string }): string => `${e.error} / ${e.reason}`;
      const expected = Object.entries(METHOD_ERRORS).map(([name, e]) => ({ name, error: String(e.error), reason: e.reason }));
      const documentedKeys = documented.map(key);
      const expectedKeys = new Set(expected.map(key));
      const problems = [
        ...expected.filter((e) => !documentedKeys.includes(key(e))).map((e) => `${e.name}: missing row \`${e.error}\` | \`${e.reason}\``),
        ...documented.filter((d) => !expectedKeys.has(key(d))).map((d) => `row \`${d.error}\` | \`${d.reason}\`: no such error in METHOD_ERRORS`),
        ...documentedKeys.filter((k, i) => documentedKeys.indexOf(k) !== i).map((k) => `row ${k}: listed twice`),
      ];
      expectNoProblems(problems, 'Method errors table vs METHOD_ERRORS');
      expectMeanings(table, 2, 'Method errors table');
    });

    it('lists every PROTOCOL_ERRORS reason, and nothing else', () => {
      const table = tableWithHeader(errors, ['reason', 'meaning']);
      const { rows, duplicates } = rowsBy(table, 0);
      const expected = new Map<string, string>(Object.entries(PROTOCOL_ERRORS).map(([name, e]) => [e.reason, name]));
      const problems = [
        ...[...expected].filter(([reason]) => !rows.has(reason)).map(([reason, name]) => `${name}: missing row \`${reason}\``),
        ...[...rows.keys()].filter((reason) => !expected.has(reason)).map((reason) => `row \`${reason}\`: no such reason in PROTOCOL_ERRORS`),
        ...duplicates.map((reason) => `row \`${reason}\`: listed twice`),
      ];
      expectNoProblems(problems, 'Protocol errors table vs PROTOCOL_ERRORS');
      expectMeanings(table, 1, 'Protocol errors table');
    });
  });

  describe('Close codes table', () => {
    let table: Table;
    let rows: Map<string, readonly string[]>;
    let duplicates: string[];
    before(() => {
      table = tableWithHeader(section(wireProtocol, 'Close codes'), ['code', 'name', 'meaning']);
      ({ rows, duplicates } = rowsBy(table, 1));
    });

    it('lists every CLOSE_CODES entry with its number', () => {
      const problems: string[] = [];
      for (const [name, code] of Object.entries(CLOSE_CODES)) {
        const row = rows.get(name);
        if (!row) problems.push(`${name}: missing (code ${code})`);
        else if (cellText(row[0] ?? '') !== String(code)) problems.push(`${name}: docs/wire-protocol.md says ${cellText(row[0] ?? '')}, the code says ${code}`);
      }
      expectNoProblems(problems, 'Close codes table vs CLOSE_CODES');
    });

    it('has no rows for close codes that do not exist, and no duplicates', () => {
      const extra = [...rows.keys()].filter((name) => !Object.prototype.hasOwnProperty.call(CLOSE_CODES, name));
      expectNoProblems([...extra.map((n) => `${n}: not in CLOSE_CODES`), ...duplicates.map((n) => `${n}: listed twice`)], 'Close codes table');
      expectMeanings(table, 2, 'Close codes table');
    });
  });
});
