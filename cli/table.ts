/**
 * Plain-text tables for terminal output: columns padded to their widest cell.
 * @module
 */

/** Formats `rows` under `headers`, two spaces between columns, no trailing spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** Display width in code points (enough for names, addresses and ✓). */
function width(text: string): number {
  return [...text].length;
}
