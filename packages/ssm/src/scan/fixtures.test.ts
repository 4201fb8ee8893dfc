/**
 * Every selective_scan and causal_conv1d fixture of fixtures/ through the fixture runner (the same path as
 * `mim-fixture`), with the README's tolerances and the absolute bound for all-zero references.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_TOLERANCE, registerFixtureAdapter, runFixture, unregisterFixtureAdapter } from '@mim/tensor';
import { fixturesDir, loadFixture } from '@mim/tensor/test';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixtureAdapters } from '../fixtures.js';

const files = readdirSync(fixturesDir())
  .filter((f) => /^(selective_scan|causal_conv1d)__.*\.safetensors$/.test(f))
  .sort();

describe('fixtures', () => {
  beforeAll(() => {
    for (const adapter of fixtureAdapters) registerFixtureAdapter(adapter);
  });
  afterAll(() => {
    for (const adapter of fixtureAdapters) unregisterFixtureAdapter(adapter.op);
  });

  test('the fixture folder has scan and conv1d files', () => {
    expect(files.some((f) => f.startsWith('selective_scan__'))).toBe(true);
    expect(files.some((f) => f.startsWith('causal_conv1d__'))).toBe(true);
  });

  test.each(files)('%s', async (file) => {
    const path = join(fixturesDir(), file);
    const fixture = loadFixture(path);
    const report = await runFixture(path);
    const failures = report.tensors.filter((t) => !t.passed);
    expect(report.message ?? '', JSON.stringify(failures)).toBe('');
    expect(report.status, JSON.stringify(failures)).toBe('pass');
    // Every stored output and gradient was compared, each against the README's bound.
    const stored = [...fixture.tensors.keys()].filter((n) => n.startsWith('out') || n.startsWith('grad_'));
    expect(report.tensors.map((t) => t.name).sort()).toEqual(stored.sort());
    for (const t of report.tensors) {
      if (t.referenceIsZero) expect(t.maxAbsGot).toBeLessThanOrEqual(FIXTURE_TOLERANCE.zeroAbsolute);
      else expect(t.relError).toBeLessThanOrEqual(t.kind === 'forward' ? 1e-4 : 1e-3);
    }
  });
});
