import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the first folder above `start` (default process.cwd()) holding fixtures/README.md. */
export function findRepoRoot(start = process.cwd()): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'fixtures', 'README.md'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find the repository root (a folder with fixtures/README.md) above ${start}`);
    dir = parent;
  }
}
