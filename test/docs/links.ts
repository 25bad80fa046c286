/**
 * Relative links of Markdown pages, for test/docs/links.test.ts and package.test.ts: every
 * `[text](target)` and `![alt](target)` outside code, and the `#anchor` each heading gets, as
 * GitHub makes it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { sections } from './markdown.js';

export interface Link {
  /** The target as written: `cli.md#serve`, `#options`, `../examples/chat/app.js`. */
  readonly target: string;
  /** 1-based line on the page. */
  readonly line: number;
}

const FENCE = /^\s*(```|~~~)/;

/** The relative links of a page: absolute URLs (`https:`, `mailto:`…) are left out. */
export function relativeLinks(markdown: string): Link[] {
  const links: Link[] = [];
  let inFence = false;
  markdown.split(/\r?\n/).forEach((line, index) => {
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) return;
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: index + 1 });
    }
  });
  return links;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(title: string): string {
  return title.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-');
}

/** Every anchor of a page, repeated titles numbered as GitHub numbers them (`x`, `x-1`…). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const s of sections(markdown)) {
    const base = slug(s.title);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/**
 * What is wrong with each link of the page at `pagePath` (absolute): a file that does not exist
 * (per `exists`, the file system by default), or an anchor its Markdown target does not have.
 */
export function brokenLinks(pagePath: string, markdown: string, exists: (absPath: string) => boolean = existsSync): string[] {
  const problems: string[] = [];
  for (const { target, line } of relativeLinks(markdown)) {
    const hash = target.indexOf('#');
    const file = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
    const abs = file === '' ? pagePath : path.resolve(path.dirname(pagePath), decodeURIComponent(file));
    if (!exists(abs)) {
      problems.push(`line ${line}: ${target}: no such file`);
      continue;
    }
    // A page written elsewhere and not there yet (see links.test.ts) has no headings to check.
    if (anchor === null || !existsSync(abs)) continue;
    if (!abs.endsWith('.md') || (existsSync(abs) && statSync(abs).isDirectory())) {
      problems.push(`line ${line}: ${target}: an anchor into a file that is not a Markdown page`);
      continue;
    }
    const text = abs === pagePath ? markdown : readFileSync(abs, 'utf8');
    if (!anchors(text).has(anchor)) problems.push(`line ${line}: ${target}: no heading makes #${anchor}`);
  }
  return problems;
}
