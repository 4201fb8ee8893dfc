#!/usr/bin/env node
/**
 * mim-fixture <file.safetensors | folder>... — runs fixture files of the shared format through the public API
 * and prints one line per compared tensor. Exit status: 0 when every file passes, 1 when a tolerance is
 * exceeded, an op is unknown or a file is broken, 2 for bad usage.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { discoverFixtureAdapters, knownFixtureOps } from '../fixture/registry.js';
import { formatFixtureReport, runFixture } from '../fixture/runner.js';
import { registerTensorFixtureAdapters } from '../fixture/tensor-adapters.js';
import { init } from '../runtime/device.js';

const USAGE = `usage: mim-fixture [options] <file.safetensors | folder>...

Runs fixture files (see fixtures/README.md) through @mim/tensor and the installed @mim packages, compares
every out* and grad_* tensor (max|got − ref| / (max|ref| + 1e-6); 1e-4 forward, 1e-3 gradients unless the
op's adapter says otherwise) and exits non-zero if any tensor is off, an op is unknown or a file is broken.

options:
  --skip-unknown   report files whose op has no adapter as SKIP instead of failing
  --failures-only  print only the files that do not pass (and the summary)
  --list-ops       print the registered ops and exit
  -h, --help       this text`;

function expand(path: string): string[] {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    return readdirSync(path)
      .filter((name) => name.endsWith('.safetensors'))
      .sort()
      .map((name) => join(path, name));
  }
  return [path];
}

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('-')));
  const paths = argv.filter((a) => !a.startsWith('-'));
  const knownFlags = ['--skip-unknown', '--failures-only', '--list-ops', '-h', '--help'];
  const unknownFlag = [...flags].find((f) => !knownFlags.includes(f));
  if (flags.has('-h') || flags.has('--help')) {
    console.log(USAGE);
    return 0;
  }
  if (unknownFlag) {
    console.error(`mim-fixture: unknown option ${unknownFlag}\n\n${USAGE}`);
    return 2;
  }
  registerTensorFixtureAdapters();
  const discovery = await discoverFixtureAdapters();
  if (flags.has('--list-ops')) {
    console.log(knownFixtureOps().join('\n'));
    return 0;
  }
  if (paths.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const files = paths.flatMap(expand);
  try {
    await init();
  } catch (error) {
    console.error(`mim-fixture: ${(error as Error).message}`);
    return 1;
  }
  if (discovery.loaded.length > 0) {
    console.log(`adapters from: @mim/tensor, ${discovery.loaded.map((p) => p.package).join(', ')}`);
  }
  const counts = { pass: 0, fail: 0, 'unknown-op': 0, error: 0, skipped: 0 };
  for (const file of files) {
    const report = await runFixture(file);
    if (report.status === 'unknown-op' && flags.has('--skip-unknown')) {
      counts.skipped++;
      if (!flags.has('--failures-only')) console.log(`SKIP  ${file}  op=${report.op} (no adapter)`);
      continue;
    }
    counts[report.status]++;
    if (report.status !== 'pass' || !flags.has('--failures-only')) {
      for (const line of formatFixtureReport(report)) console.log(line);
    }
  }
  const failed = counts.fail + counts['unknown-op'] + counts.error;
  console.log(
    `\n${files.length} fixture file(s): ${counts.pass} passed, ${counts.fail} failed, ${counts['unknown-op']} unknown op, ${counts.error} error(s)${counts.skipped ? `, ${counts.skipped} skipped` : ''}`,
  );
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`mim-fixture: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  },
);
