#!/usr/bin/env node
/**
 * Runs the code examples of the READMEs, so the documentation cannot drift from the API: every ```ts or ```js
 * block that imports an @mim package is written next to the repository root (so `@mim/*` resolves to the
 * built workspace packages) and run with Node. Build first (`npm run build`).
 * Usage: node scripts/run-readme-examples.mjs [README.md ...]   (default: README.md and packages/* /README.md)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readmes =
  process.argv.length > 2
    ? process.argv.slice(2).map((file) => resolve(file))
    : [
        join(root, 'README.md'),
        ...readdirSync(join(root, 'packages'))
          .map((name) => join(root, 'packages', name, 'README.md'))
          .filter(existsSync),
      ];

let failures = 0;
let count = 0;
for (const readme of readmes) {
  const text = readFileSync(readme, 'utf8');
  const blocks = [...text.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((code) => /from '@mim\//.test(code));
  for (const [index, code] of blocks.entries()) {
    count++;
    const name = `${relative(root, readme)} example ${index + 1}`;
    const file = join(root, `.readme-example-${process.pid}-${count}.mjs`);
    writeFileSync(file, code);
    try {
      const result = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      if (result.status === 0) {
        console.log(`ok    ${name}`);
      } else {
        failures++;
        console.log(`FAIL  ${name} (exit ${result.status})\n${result.stdout}${result.stderr}`);
      }
    } finally {
      rmSync(file, { force: true });
    }
  }
}
console.log(`${count} README example(s), ${failures} failed`);
process.exit(failures > 0 || count === 0 ? 1 : 0);
