/**
 * The documentation as the docs tests see it: the README (the front page) and every page of
 * docs/, by path relative to the repository root, and the order their commands run in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findRepoRoot } from './repo-root.js';

export const root = findRepoRoot(import.meta.url);

/** A page: its path from the repository root (`README.md`, `docs/cli.md`) and its text. */
export interface Page {
  readonly path: string;
  readonly text: string;
}

/** README.md and docs/*.md, the README first, then the pages by name. */
export function allPages(): Page[] {
  const docs = readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs].map(readPage);
}

/** One page by its path from the repository root. */
export function readPage(relPath: string): Page {
  return { path: relPath, text: readFileSync(path.join(root, relPath), 'utf8') };
}

/**
 * The order the `sh` blocks run in: the README's tour (it starts the server and enrols alice),
 * then the pages that continue from its state, then every other page by name.
 */
export const RUN_FIRST = ['README.md', 'docs/http-api.md', 'docs/cli.md'] as const;

export function pagesInRunOrder(): Page[] {
  const pages = allPages();
  const first = RUN_FIRST.map((p) => pages.find((page) => page.path === p) ?? readPage(p));
  return [...first, ...pages.filter((page) => !(RUN_FIRST as readonly string[]).includes(page.path))];
}

/**
 * The CLI as an installed package runs it: the `bin` of package.json, so this stays right when
 * the CLI's folder moves.
 */
export function cliEntry(): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin['ddp-guard'];
  if (bin === undefined) throw new Error('package.json has no bin named ddp-guard');
  return path.join(root, bin);
}
