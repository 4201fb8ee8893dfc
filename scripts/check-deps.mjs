#!/usr/bin/env node
/**
 * Fails (exit 1) when a workspace package depends on another @mim package against the fixed direction
 *
 *   tensor ← (ssm, masking, losses) ← backbones ← apps/*      data → (optionally) tensor
 *
 * It checks each package.json's dependency lists and every static import / re-export / side-effect import /
 * dynamic `import('@mim/…')` with a literal name in packages/*\/src and apps/*\/src. Imports built from a
 * computed string (the fixture runner's discovery of installed packages) are not dependencies and are not
 * checked. Usage: `node scripts/check-deps.mjs [repository root]`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which @mim packages each package may import (folder name → allowed folder names). */
const ALLOWED = {
  tensor: [],
  ssm: ['tensor'],
  masking: ['tensor'],
  losses: ['tensor'],
  data: ['tensor'],
  backbones: ['tensor', 'ssm', 'masking', 'losses'],
};

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const problems = [];

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function listDirs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory() && existsSync(join(dir, name, 'package.json')))
    .sort();
}

/** npm name → { folder, kind: 'package' | 'app' }. */
const workspaces = new Map();
for (const folder of listDirs(join(root, 'packages'))) {
  const { name } = readJson(join(root, 'packages', folder, 'package.json'));
  workspaces.set(name, { folder, kind: 'package', dir: join(root, 'packages', folder) });
}
for (const folder of listDirs(join(root, 'apps'))) {
  const { name } = readJson(join(root, 'apps', folder, 'package.json'));
  workspaces.set(name, { folder, kind: 'app', dir: join(root, 'apps', folder) });
}

for (const [name, ws] of workspaces) {
  if (ws.kind === 'package' && !(ws.folder in ALLOWED)) {
    problems.push(
      `packages/${ws.folder} (${name}) is not in the dependency table of scripts/check-deps.mjs; add it to ALLOWED`,
    );
  }
}

/** Why `from` (a workspace) may not depend on the @mim package `target`, or null when it may. */
function violation(from, target) {
  const dependency = workspaces.get(target);
  if (!dependency) return `${target} is not a workspace package`;
  if (dependency === from) return null;
  if (dependency.kind === 'app') return `${target} is an application; nothing may depend on it`;
  if (from.kind === 'app') return null;
  const allowed = ALLOWED[from.folder] ?? [];
  if (allowed.includes(dependency.folder)) return null;
  const list = allowed.length > 0 ? allowed.map((f) => `@mim/${f}`).join(', ') : 'no other @mim package';
  return `${target} is not below it (it may use ${list})`;
}

/** `@mim/ssm/fixtures` → `@mim/ssm`. */
const packageOf = (specifier) => specifier.split('/').slice(0, 2).join('/');

const IMPORT_PATTERNS = [
  // import x from '…', import { x } from '…', export * from '…', export { x } from '…', import type …
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"](@mim\/[^'"]+)['"]/g,
  // import '…' (side effects)
  /\bimport\s*['"](@mim\/[^'"]+)['"]/g,
  // import('…') and require('…') with a literal name
  /\b(?:import|require)\s*\(\s*['"`](@mim\/[^'"`$]+)['"`]\s*[,)]/g,
];

function sourceFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(path));
    } else if (/\.(?:[cm]?[jt]s|tsx|jsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      out.push(path);
    }
  }
  return out;
}

function lineOf(text, index) {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

for (const [name, ws] of workspaces) {
  const manifest = readJson(join(ws.dir, 'package.json'));
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const target of Object.keys(manifest[field] ?? {})) {
      if (!target.startsWith('@mim/')) continue;
      const why = violation(ws, target);
      if (why)
        problems.push(`${relative(root, join(ws.dir, 'package.json'))}: ${field} of ${name} has ${target}, but ${why}`);
    }
  }
  for (const file of sourceFiles(join(ws.dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of IMPORT_PATTERNS) {
      pattern.lastIndex = 0;
      for (const match of text.matchAll(pattern)) {
        const target = packageOf(match[1]);
        const why = violation(ws, target);
        if (why) {
          const at = `${relative(root, file)}:${lineOf(text, match.index)}`;
          problems.push(`${at}: ${name} imports '${match[1]}', but ${why}`);
        }
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`check-deps: ${problems.length} import(s) go the wrong way:`);
  for (const problem of problems) console.error(`  ${problem}`);
  console.error('Dependency direction: tensor ← (ssm, masking, losses) ← backbones ← apps/*; data → tensor only.');
  process.exit(1);
}
console.log(`check-deps: ${workspaces.size} workspaces, all @mim imports go downward`);
