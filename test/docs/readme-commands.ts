/**
 * The shell examples of a page (the README, docs/*.md) as data, for test/docs/commands.test.ts: its fenced code blocks
 * in order, each with the `<!-- docs-test: … -->` marker written just above it (if any), and
 * the commands of a `sh` block with the `# → …` answers written under them.
 *
 * Markers: `skip (reason)` — not run here, and why; `synopsis` — usage lines, whose flags are
 * checked against `--help`; `file NAME` — a text block saved as NAME for later commands;
 * `stdin …` — a text block whose `ddp> ` lines are typed into the shell command just before it.
 */

export interface CodeBlock {
  /** `sh`, `text`, `ts`… ('' when none). */
  readonly lang: string;
  readonly lines: readonly string[];
  /** The marker's text after `docs-test:`, or null. */
  readonly marker: string | null;
  /** 1-based line of the opening fence in the page. */
  readonly line: number;
}

const FENCE = /^```(\S*)\s*$/;
const MARKER = /^<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;

/** Every fenced block of `markdown`, with its marker. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const marker = start > 0 ? MARKER.exec(lines[start - 1]!) : null;
    blocks.push({ lang: open[1] ?? '', lines: body, marker: marker ? marker[1]! : null, line: start + 1 });
  }
  return blocks;
}

export interface Command {
  /** The command as written (continuation lines joined). */
  readonly text: string;
  /** The `# → …` lines written under it, without `# → `. */
  readonly answers: string[];
  /** 1-based line in the page. */
  readonly line: number;
}

/** The commands of a `sh` block: comments dropped, `\` continuations joined, answers attached. */
export function commandsOf(block: CodeBlock): Command[] {
  const out: Command[] = [];
  let pending = '';
  let pendingLine = 0;
  block.lines.forEach((raw, index) => {
    const line = raw.trim();
    const answer = /^#\s*→\s?(.*)$/.exec(line);
    if (answer && pending === '') {
      out.at(-1)?.answers.push(answer[1]!);
      return;
    }
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') pendingLine = block.line + 1 + index;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trimEnd()} `;
      return;
    }
    out.push({ text: pending + line, answers: [], line: pendingLine });
    pending = '';
  });
  return out;
}

/**
 * The `"key":value` pairs of an answer written on a page that must appear in the real
 * output: scalar values only, and none holding `…` (an elision), compared without spaces.
 */
export function expectedPairs(answer: string): string[] {
  const compact = answer.replace(/":\s+/g, '":').replace(/,\s+"/g, ',"');
  const pairs: string[] = [];
  for (const m of compact.matchAll(/"((?:[^"\\]|\\.)+)":("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)/g)) {
    if (!m[0].includes('…') && !m[0].startsWith('"\\')) pairs.push(m[0]);
  }
  return pairs;
}

/** Output made comparable with {@link expectedPairs}: JSON re-serialised compactly when it is JSON. */
export function compactOutput(stdout: string): string {
  try {
    return JSON.stringify(JSON.parse(stdout));
  } catch {
    return stdout.replace(/":\s+/g, '":').replace(/,\s+"/g, ',"');
  }
}

/** The subcommand and flags of a synopsis line such as `ddp-guard user add <u> [--verified]`. */
export function synopsisOf(line: string): { command: string[]; flags: string[] } | null {
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'ddp-guard') return null;
  const command: string[] = [];
  for (const word of words.slice(1)) {
    if (!/^[a-z][a-z0-9-]*$/.test(word)) break;
    command.push(word);
  }
  const flags = [...line.matchAll(/--[a-z][a-z0-9-]*(?=[\s\]|=<]|$)/g)].map((m) => m[0]).filter((f) => f !== '--');
  return { command, flags };
}
