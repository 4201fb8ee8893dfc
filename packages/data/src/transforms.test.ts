import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyAffine, invert4, type Matrix4, orientationCode } from './affine.js';
import {
  type AugmentParams,
  applyAugmentation,
  augmentToTensorLayout,
  drawAugmentation,
  flip,
  rotate90,
} from './augment.js';
import {
  cropForeground,
  cropToBox,
  cropToTensorLayout,
  foregroundBox,
  padToSize,
  randomCropBox,
  toTensorLayout,
} from './crop.js';
import { scaleIntensityRange } from './intensity.js';
import { readNifti } from './nifti-read.js';
import { writeNifti } from './nifti-write.js';
import { reorient } from './orientation.js';
import { preprocessSample } from './preprocess.js';
import { createRng } from './random.js';
import { resample, resampleToGrid, spacingGrid } from './resample.js';
import { findRepoRoot, temporaryFolder } from './test-support.js';
import type { Volume } from './volume.js';

const root = findRepoRoot();
const folder = temporaryFolder();
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const at = (v: Volume, x: number, y: number, z: number) => v.data[x + v.shape[0] * (y + v.shape[1] * z)];

function randomVolume(shape: [number, number, number], affine: Matrix4, seed = 1): Volume<Float32Array> {
  const rng = createRng(seed);
  const data = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => Math.round(rng.next() * 1000));
  return { data, shape, affine };
}

/** Every output voxel must hold the input value found at the same world position. */
function expectSameWorld(input: Volume, output: Volume) {
  const inverse = invert4(input.affine);
  for (let z = 0; z < output.shape[2]; z++) {
    for (let y = 0; y < output.shape[1]; y++) {
      for (let x = 0; x < output.shape[0]; x++) {
        const source = applyAffine(inverse, applyAffine(output.affine, [x, y, z])).map(
          (c) => Math.round(c * 1e6) / 1e6,
        );
        expect(source.every(Number.isInteger)).toBe(true);
        expect(at(output, x, y, z)).toBe(at(input, source[0], source[1], source[2]));
      }
    }
  }
}

describe('orientation', () => {
  it('codes of common affines', () => {
    const diag = (a: number, b: number, c: number): Matrix4 => [
      [a, 0, 0, 0],
      [0, b, 0, 0],
      [0, 0, c, 0],
      [0, 0, 0, 1],
    ];
    expect(orientationCode(diag(1, 1, 1))).toBe('RAS');
    expect(orientationCode(diag(-1, -1, 1))).toBe('LPS');
    expect(orientationCode(diag(-0.7, 2, -3))).toBe('LAI');
    const permuted: Matrix4 = [
      [0, 1, 0, 0],
      [0, 0, -1, 0],
      [-2, 0, 0, 0],
      [0, 0, 0, 1],
    ];
    expect(orientationCode(permuted)).toBe('IRP');
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const oblique: Matrix4 = [
      [-c, s, 0, 0],
      [-s, -c, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    expect(orientationCode(oblique)).toBe('LPS');
  });

  it('reorients an LPS scan to RAS: written, read back and compared voxel for voxel with the expected flips', () => {
    const input = readNifti(join(root, 'data/ct/chest-1.5mm.nii.gz'));
    expect(orientationCode(input.affine)).toBe('LPS');
    const ras = reorient(input, 'RAS');
    const file = join(folder, 'chest-ras.nii.gz');
    writeNifti(file, ras);
    const back = readNifti(file);
    expect(orientationCode(back.affine)).toBe('RAS');
    expect(back.header.datatype).toBe('int16');
    const [nx, ny, nz] = input.shape;
    expect(back.shape).toEqual([nx, ny, nz]);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          if (at(back, x, y, z) !== at(input, nx - 1 - x, ny - 1 - y, z)) {
            throw new Error(`voxel ${x},${y},${z} differs`);
          }
        }
      }
    }
    // the first RAS voxel sits where the last L/P voxel was
    const world = applyAffine(input.affine, [nx - 1, ny - 1, 0]);
    expect(back.affine.map((row) => row[3]).slice(0, 3)).toEqual(world.map(Math.fround));
    expect(back.affine[0][0]).toBe(1.5);
    expect(back.affine[1][1]).toBe(1.5);
  });

  it('permutes axes for a volume stored IRP and keeps every voxel at its world position', () => {
    const affine: Matrix4 = [
      [0, 1.5, 0, 10],
      [0, 0, -2, 20],
      [-3, 0, 0, 30],
      [0, 0, 0, 1],
    ];
    const input = randomVolume([4, 5, 6], affine);
    const output = reorient(input, 'RAS');
    expect(output.shape).toEqual([5, 6, 4]);
    expect(orientationCode(output.affine)).toBe('RAS');
    expectSameWorld(input, output);
    const lps = reorient(input, 'LPS');
    expect(orientationCode(lps.affine)).toBe('LPS');
    expectSameWorld(input, lps);
  });
});

describe('resampling', () => {
  const identity: Matrix4 = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];

  it('hand-computed case: 2 mm → 1 mm along x (trilinear)', () => {
    const affine: Matrix4 = [
      [2, 0, 0, 5],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const volume: Volume = { data: Float32Array.from([10, 20, 40, 10, 20, 40]), shape: [3, 2, 1], affine };
    const out = resample(volume, 1);
    expect(out.shape).toEqual([5, 2, 1]);
    expect(Array.from(out.data)).toEqual([10, 15, 20, 30, 40, 10, 15, 20, 30, 40]);
    expect(out.affine[0]).toEqual([1, 0, 0, 5]);
  });

  it('reproduces a linear function exactly (trilinear) on the MONAI Spacing grid', () => {
    const affine: Matrix4 = [
      [2, 0, 0, -3],
      [0, 3, 0, 4],
      [0, 0, 1.5, 1],
      [0, 0, 0, 1],
    ];
    const shape: [number, number, number] = [4, 5, 3];
    const f = (p: number[]) => 1 + 2 * p[0] + 3 * p[1] - 5 * p[2];
    const data = new Float32Array(60);
    for (let z = 0; z < 3; z++)
      for (let y = 0; y < 5; y++)
        for (let x = 0; x < 4; x++) data[x + 4 * (y + 5 * z)] = f(applyAffine(affine, [x, y, z]));
    const out = resample({ data, shape, affine }, [1, 1, 1]);
    expect(out.shape).toEqual([7, 13, 4]);
    expect(out.affine).toEqual([
      [1, 0, 0, -3],
      [0, 1, 0, 4],
      [0, 0, 1, 1],
      [0, 0, 0, 1],
    ]);
    for (let z = 0; z < 4; z++)
      for (let y = 0; y < 13; y++)
        for (let x = 0; x < 7; x++) {
          expect(at(out, x, y, z)).toBeCloseTo(f(applyAffine(out.affine, [x, y, z])), 3);
        }
  });

  it('nearest keeps the label type and rounds half to even like grid_sample', () => {
    const label: Volume = { data: Uint8Array.from([3, 7, 9]), shape: [3, 1, 1], affine: identity };
    const out = resample(label, [0.5, 1, 1], { mode: 'nearest' });
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(out.shape).toEqual([5, 1, 1]);
    expect(Array.from(out.data)).toEqual([3, 3, 7, 9, 9]);
  });

  it('downsampling with a non-integer ratio samples at j·3 and rounds the extent', () => {
    const volume: Volume = {
      data: Float32Array.from({ length: 10 }, (_, i) => i * i),
      shape: [10, 1, 1],
      affine: identity,
    };
    const out = resample(volume, [3, 1, 1]);
    expect(out.shape).toEqual([4, 1, 1]);
    expect(Array.from(out.data)).toEqual([0, 9, 36, 81]);
    const grid = spacingGrid(identity, [10, 1, 1], [4, 1, 1]);
    expect(grid.shape).toEqual([3, 1, 1]); // round(9/4 + 1) = 3
  });

  it('handles an oblique target grid (general path) exactly for linear data', () => {
    const shape: [number, number, number] = [12, 12, 12];
    const f = (p: number[]) => 0.5 + p[0] - 2 * p[1] + 0.25 * p[2];
    const data = new Float32Array(12 ** 3);
    for (let z = 0; z < 12; z++)
      for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) data[x + 12 * (y + 12 * z)] = f([x, y, z]);
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    const grid = {
      shape: [5, 5, 5] as [number, number, number],
      affine: [
        [c, -s, 0, 4],
        [s, c, 0, 3],
        [0, 0, 1, 3],
        [0, 0, 0, 1],
      ],
    };
    const out = resampleToGrid({ data, shape, affine: identity }, grid);
    for (let z = 0; z < 5; z++)
      for (let y = 0; y < 5; y++)
        for (let x = 0; x < 5; x++) {
          expect(at(out, x, y, z)).toBeCloseTo(f(applyAffine(grid.affine, [x, y, z])), 3);
        }
  });
});

describe('intensity, crop and pad', () => {
  const affine: Matrix4 = [
    [2, 0, 0, 10],
    [0, 2, 0, 20],
    [0, 0, 2, 30],
    [0, 0, 0, 1],
  ];

  it('windows −175…250 HU to 0…1 with clipping', () => {
    const volume: Volume = { data: Float32Array.from([-1000, -175, 37.5, 250, 3000, 0]), shape: [6, 1, 1], affine };
    const out = scaleIntensityRange(volume);
    const expected = [0, 0, 0.5, 1, 1, 175 / 425];
    expected.forEach((v, i) => {
      expect(out.data[i]).toBeCloseTo(v, 6);
    });
  });

  it('crops to the foreground box and moves the origin', () => {
    const volume: Volume = { data: new Float32Array(6 * 5 * 4), shape: [6, 5, 4], affine };
    volume.data[2 + 6 * (1 + 5 * 1)] = 1;
    volume.data[4 + 6 * (3 + 5 * 2)] = 0.5;
    expect(foregroundBox(volume)).toEqual({ start: [2, 1, 1], end: [5, 4, 3] });
    const cropped = cropForeground(volume);
    expect(cropped.shape).toEqual([3, 3, 2]);
    expect(at(cropped, 0, 0, 0)).toBe(1);
    expect(at(cropped, 2, 2, 1)).toBe(0.5);
    expect(cropped.affine.map((r) => r[3])).toEqual([14, 22, 32, 1]);
    expect(foregroundBox({ ...volume, data: new Float32Array(120) })).toEqual({ start: [0, 0, 0], end: [6, 5, 4] });
  });

  it('pads symmetrically (floor before) and keeps world positions', () => {
    const volume = randomVolume([3, 4, 5], affine);
    const padded = padToSize(volume, [6, 4, 8]);
    expect(padded.shape).toEqual([6, 4, 8]);
    expect(padded.affine.map((r) => r[3])).toEqual([10 - 2, 20, 30 - 2, 1]);
    expect(at(padded, 1, 0, 0)).toBe(0);
    expect(at(padded, 5, 3, 7)).toBe(0);
    const inner = cropToBox(padded, { start: [1, 0, 1], end: [4, 4, 6] });
    expect(Array.from(inner.data)).toEqual(Array.from(volume.data));
    expect(inner.affine).toEqual(volume.affine);
  });

  it('random crop boxes are inside the volume, seeded, and the tensor-layout crop matches', () => {
    const volume = randomVolume([20, 17, 13], affine);
    const boxes = Array.from({ length: 50 }, (_, i) => randomCropBox(volume.shape, [8, 8, 8], createRng(i)));
    for (const box of boxes) {
      box.start.forEach((s, a) => {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(box.end[a]).toBeLessThanOrEqual(volume.shape[a]);
        expect(box.end[a] - s).toBe(8);
      });
    }
    expect(randomCropBox(volume.shape, 8, createRng(3))).toEqual(boxes[3]);
    expect(new Set(boxes.map((b) => b.start.join())).size).toBeGreaterThan(20);
    const box = boxes[7];
    expect(Array.from(cropToTensorLayout(volume, box))).toEqual(Array.from(toTensorLayout(cropToBox(volume, box))));
    expect(() => randomCropBox([5, 50, 50], 8, createRng(1))).toThrow(/pad the volume first/);
  });
});

describe('augmentation', () => {
  it('rot90 matches numpy.rot90 on a 2×3 plane', () => {
    // m[x][y] = 3x + y; numpy.rot90(m, 1) = [[2, 5], [1, 4], [0, 3]]
    const volume: Volume = {
      data: Float32Array.from([0, 3, 1, 4, 2, 5]),
      shape: [2, 3, 1],
      affine: [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    };
    const r1 = rotate90(volume, 1, [0, 1]);
    expect(r1.shape).toEqual([3, 2, 1]);
    const expected1 = [
      [2, 5],
      [1, 4],
      [0, 3],
    ];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(at(r1, i, j, 0)).toBe(expected1[i][j]);
    const r3 = rotate90(volume, 3, [0, 1]); // numpy.rot90(m, 3) = [[3, 0], [4, 1], [5, 2]]
    const expected3 = [
      [3, 0],
      [4, 1],
      [5, 2],
    ];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(at(r3, i, j, 0)).toBe(expected3[i][j]);
    const r2 = rotate90(volume, 2, [0, 1]);
    expect(Array.from(r2.data)).toEqual([5, 2, 4, 1, 3, 0]);
    const r4 = rotate90(r1, 3, [0, 1]);
    expect(Array.from(r4.data)).toEqual(Array.from(volume.data));
  });

  it('augmenting in tensor layout equals augmenting the volume, for every flip/rotation combination', () => {
    const volume = randomVolume(
      [4, 5, 6],
      [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    );
    const planes: [number, number][] = [
      [0, 1],
      [1, 2],
      [0, 2],
      [2, 0],
    ];
    for (const rotationAxes of planes) {
      for (let rotations = 0; rotations < 4; rotations++) {
        for (let flipBits = 0; flipBits < 8; flipBits++) {
          const params: AugmentParams = {
            flips: [Boolean(flipBits & 1), Boolean(flipBits & 2), Boolean(flipBits & 4)],
            rotations,
            rotationAxes,
            intensityShift: 0.25,
          };
          const reference = applyAugmentation(volume, params);
          const tensor = augmentToTensorLayout(volume, params);
          expect(tensor.shape).toEqual(reference.shape);
          expect(Array.from(tensor.data)).toEqual(Array.from(toTensorLayout(reference)));
          // and the same as applying flips, then rotation, then the shift, one step at a time
          let stepwise: Volume = flip(
            volume,
            [0, 1, 2].filter((a) => params.flips[a]),
          );
          stepwise = rotate90(stepwise, rotations, rotationAxes);
          expect(Array.from(reference.data)).toEqual(Array.from(stepwise.data, (v) => Math.fround(v + 0.25)));
        }
      }
    }
  });

  it('labels get the same geometry and no intensity shift', () => {
    const volume = randomVolume(
      [6, 6, 6],
      [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    );
    const label: Volume = { ...volume, data: Int32Array.from(volume.data) };
    const rng = createRng(5);
    let shifted = 0;
    for (let i = 0; i < 40; i++) {
      const params = drawAugmentation(rng, {
        flipProbability: 0.5,
        rotate90Probability: 0.5,
        intensityShiftProbability: 0.5,
      });
      const image = applyAugmentation(volume, params, 'image');
      const labelOut = applyAugmentation(label, params, 'label');
      expect(labelOut.data).toBeInstanceOf(Int32Array);
      for (let v = 0; v < image.data.length; v++)
        expect(image.data[v] - params.intensityShift).toBeCloseTo(labelOut.data[v], 3);
      if (params.intensityShift !== 0) shifted++;
      expect(Math.abs(params.intensityShift)).toBeLessThanOrEqual(0.1);
    }
    expect(shifted).toBeGreaterThan(5);
  });
});

describe('the preprocessing pipeline', () => {
  it('keeps image and label on one grid through orientation, spacing, crop and pad', () => {
    const image = readNifti(join(root, 'data/ct/abdomen-3mm.nii.gz'));
    const label = readNifti(join(root, 'data/labels/abdomen-3mm.totalseg.nii.gz'));
    const out = preprocessSample({ image, label }, { spacing: 2, padTo: [96, 96, 96] });
    expect(out.label!.shape).toEqual(out.image.shape);
    expect(out.label!.affine).toEqual(out.image.affine);
    expect(out.label!.data).toBeInstanceOf(Uint8Array);
    expect(orientationCode(out.image.affine)).toBe('RAS');
    out.image.shape.forEach((n) => {
      expect(n).toBeGreaterThanOrEqual(96);
    });
    const labels = new Set(out.label!.data);
    for (const id of [0, 26, 27, 28, 29, 30, 31, 32, 33]) expect(labels.has(id)).toBe(true);
    let min = Infinity;
    let max = -Infinity;
    for (const v of out.image.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });
});
