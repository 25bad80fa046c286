/**
 * The repository root, found from a module's URL: tests run from `dist/test/...`, sources and the
 * README sit at the root, next to `package.json`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Walk up from `fromUrl` (a `file:` URL or a path) to the first folder holding `package.json`. */
export function findRepoRoot(fromUrl: string = import.meta.url): string {
  let dir = dirname(fromUrl.startsWith('file:') ? fileURLToPath(fromUrl) : fromUrl);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${fromUrl}`);
    dir = parent;
  }
}
