/**
 * Just enough Markdown for the docs-sync tests: sections by heading and GitHub tables, with
 * fenced code blocks skipped so a `#` or `|` inside an example is never taken for structure.
 */

export interface Section {
  /** 1 for `#`, 2 for `##`... */
  readonly level: number;
  readonly title: string;
  /** The lines up to the next heading of the same or a higher level. */
  readonly lines: readonly string[];
}

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** 1-based line of the header row within the section, for messages. */
  readonly line: number;
}

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s*(```|~~~)/;

/** Every heading with its section, in document order (nested sections included). */
export function sections(markdown: string): Section[] {
  const lines = markdown.split(/\r?\n/);
  const headings: { level: number; title: string; index: number }[] = [];
  let inFence = false;
  lines.forEach((line, index) => {
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) return;
    const m = HEADING.exec(line);
    if (m) headings.push({ level: m[1]!.length, title: m[2]!, index });
  });
  return headings.map((h, i) => {
    const next = headings.slice(i + 1).find((o) => o.level <= h.level);
    return { level: h.level, title: h.title, lines: lines.slice(h.index + 1, next ? next.index : lines.length) };
  });
}

/** The one section with this title (case-insensitive); throws when there is none or several. */
export function section(markdown: string, title: string): Section {
  const found = sections(markdown).filter((s) => s.title.toLowerCase() === title.toLowerCase());
  if (found.length !== 1) throw new Error(`expected one section titled "${title}", found ${found.length}`);
  return found[0]!;
}

/** Split a table row on unescaped pipes; `\|` becomes `|` in the cell. */
export function splitRow(line: string): string[] {
  let body = line.trim();
  if (body.startsWith('|')) body = body.slice(1);
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell.trim());
  return cells;
}

const SEPARATOR = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

/** The tables of a section: a header row, a `---` row, then rows until the first non-table line. */
export function tables(sectionLines: readonly string[]): Table[] {
  const out: Table[] = [];
  let inFence = false;
  for (let i = 0; i < sectionLines.length; i++) {
    const line = sectionLines[i]!;
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence || !line.trim().startsWith('|')) continue;
    if (!SEPARATOR.test(sectionLines[i + 1] ?? '')) continue;
    const header = splitRow(line).map((h) => h.toLowerCase());
    const rows: string[][] = [];
    let j = i + 2;
    while (j < sectionLines.length && sectionLines[j]!.trim().startsWith('|')) rows.push(splitRow(sectionLines[j++]!));
    out.push({ header, rows, line: i + 1 });
    i = j - 1;
  }
  return out;
}

/** The one table of a section whose header is exactly `columns`. */
export function tableWithHeader(s: Section, columns: readonly string[]): Table {
  const found = tables(s.lines).filter((t) => t.header.join('|') === columns.join('|'));
  if (found.length !== 1) {
    throw new Error(`section "${s.title}": expected one table with columns ${columns.join(' | ')}, found ${found.length}`);
  }
  return found[0]!;
}

/** The text of the first code span of a cell (`` `x` `` → `x`), or null when it has none. */
export function firstCodeSpan(cell: string): string | null {
  const m = /(`+)(.+?)\1/.exec(cell);
  return m ? m[2]!.trim() : null;
}

/** A cell that is one code span gives its content; any other cell is returned trimmed. */
export function cellText(cell: string): string {
  const m = /^(`+)(.*)\1$/.exec(cell.trim());
  return m ? m[2]!.trim() : cell.trim();
}
