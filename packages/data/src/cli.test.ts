import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { orientationCode } from './affine.js';
import { readNifti } from './nifti-read.js';
import { preprocessFile } from './preprocess.js';
import { buildRawNifti, expectAffineClose, findRepoRoot, temporaryFolder } from './test-support.js';
import { intensityStats } from './volume.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const root = findRepoRoot();
const folder = temporaryFolder();
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Index of the first differing element (or of the length mismatch); −1 when equal. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mim-data CLI', () => {
  it('inspect --json prints one object with header facts and scaled intensity statistics', () => {
    const file = join(folder, 'scaled.nii');
    const values = Array.from({ length: 60 }, (_, i) => (i * 7) % 23);
    writeFileSync(
      file,
      buildRawNifti({
        datatype: 'uint16',
        dims: [3, 4, 5],
        values,
        slope: 2,
        inter: -1,
        littleEndian: false,
        sformCode: 1,
        srow: [
          [-0.5, 0, 0, 3],
          [0, -0.75, 0, 4],
          [0, 0, 2, 5],
        ],
      }),
    );
    const result = run('inspect', file, '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report)).toEqual([
      'file',
      'datatype',
      'dims',
      'spacing',
      'affine',
      'orientation',
      'min',
      'max',
      'mean',
      'std',
    ]);
    const scaled = values.map((v) => v * 2 - 1);
    const mean = scaled.reduce((a, b) => a + b, 0) / scaled.length;
    const std = Math.sqrt(scaled.reduce((a, b) => a + (b - mean) ** 2, 0) / scaled.length);
    expect(report).toMatchObject({
      file,
      datatype: 'uint16',
      dims: [3, 4, 5],
      spacing: [0.5, 0.75, 2],
      orientation: 'LPS',
    });
    expect(report.affine).toEqual([
      [-0.5, 0, 0, 3],
      [0, -0.75, 0, 4],
      [0, 0, 2, 5],
      [0, 0, 0, 1],
    ]);
    expect(report.min).toBe(Math.min(...scaled));
    expect(report.max).toBe(Math.max(...scaled));
    expect(report.mean).toBeCloseTo(mean, 9);
    expect(report.std).toBeCloseTo(std, 9);
  });

  it('inspect prints a readable summary of a sample CT', () => {
    const result = run('inspect', 'data/ct/chest-1.5mm.nii.gz');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/datatype\s+int16/);
    expect(result.stdout).toMatch(/dims\s+122 × 102 × 112/);
    expect(result.stdout).toMatch(/orientation\s+LPS/);
  });

  it('preprocess writes exactly what the dataset pipeline produces', () => {
    const out = join(folder, 'pre.nii.gz');
    const labelOut = join(folder, 'pre-label.nii.gz');
    const input = join(root, 'data/ct/thorax-aorta-1.5mm.nii.gz');
    const label = join(root, 'data/labels/thorax-aorta-1.5mm.aorta.nii.gz');
    const result = run(
      'preprocess',
      input,
      out,
      '--spacing',
      '2',
      '--orient',
      'RAS',
      '--window',
      '-175,250',
      '--label',
      label,
      '--label-out',
      labelOut,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const written = readNifti(out);
    const expected = preprocessFile(input, label, {
      spacing: 2,
      orientation: 'RAS',
      window: { aMin: -175, aMax: 250 },
    });
    expect(written.shape).toEqual(expected.image.shape);
    expect(orientationCode(written.affine)).toBe('RAS');
    expectAffineClose(written.affine, expected.image.affine, 4);
    expect(firstDifference(written.data, expected.image.data)).toBe(-1);
    const writtenLabel = readNifti(labelOut);
    expect(writtenLabel.header.datatype).toBe('uint8');
    expect(firstDifference(writtenLabel.data, expected.label!.data)).toBe(-1);
    const stats = intensityStats(written.data);
    expect(stats.min).toBe(0);
    expect(stats.max).toBe(1);
  });

  it('validate prints a table of problems and exits non-zero', () => {
    const dataset = join(folder, 'to-validate');
    mkdirSync(dataset, { recursive: true });
    writeFileSync(
      join(dataset, 'good.nii'),
      buildRawNifti({ datatype: 'int16', dims: [4, 4, 4], values: Array(64).fill(3) }),
    );
    writeFileSync(join(dataset, 'bad.nii.gz'), buildRawNifti({ datatype: 'int16', dims: [4, 4, 4], values: [] }));
    writeFileSync(
      join(dataset, 'nan.nii'),
      buildRawNifti({ datatype: 'float32', dims: [2, 2, 2], values: [0, 1, Number.NaN, 3, 4, 5, 6, 7] }),
    );
    const result = run('validate', dataset);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^file\s+problem\s+details$/);
    expect(lines).toHaveLength(3);
    expect(result.stdout).toMatch(/bad\.nii\.gz\s+not-gzip/);
    expect(result.stdout).toMatch(/nan\.nii\s+non-finite/);
    expect(result.stderr).toMatch(/2 problem\(s\) in 3 items/);
    const clean = run('validate', join(root, 'data/ct'));
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/3 items \(3 files\) checked, no problems/);
  });

  it('errors go to stderr with a non-zero exit', () => {
    const missing = run('inspect', 'nowhere.nii.gz');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^mim-data: nowhere\.nii\.gz: file not found/);
    const usage = run('preprocess', 'only-one-argument.nii');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/preprocess takes an input and an output file/);
    const unknown = run('frobnicate');
    expect(unknown.code).toBe(2);
    const badWindow = run('preprocess', 'a.nii', 'b.nii', '--window', '1');
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr).toMatch(/--window expects 2 comma-separated numbers/);
  });
});
