import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectAllClose, fixturesDir, loadFixture, TOLERANCE } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { cutBox, resizeTrilinear } from './volume.js';

describe('resizeTrilinear', () => {
  const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('interpolate3d__'));
  it.each(files)('matches PyTorch trilinear (align_corners=False) on %s', (file) => {
    const fixture = loadFixture(join(fixturesDir(), file));
    const x = fixture.tensors.get('x')!;
    const out = fixture.tensors.get('out')!;
    const [N, C, X, Y, Z] = x.shape;
    const per = C * X * Y * Z;
    const size = out.shape.slice(2) as [number, number, number];
    const got = new Float32Array(out.data.length);
    for (let n = 0; n < N; n++) {
      const volume = { data: (x.data as Float32Array).subarray(n * per, (n + 1) * per), shape: [C, X, Y, Z] as const };
      const r = resizeTrilinear(volume, size);
      got.set(r.data, n * r.data.length);
    }
    expectAllClose(got, out.data, TOLERANCE.fixtureForward, file);
  });

  it('averages 2×2×2 blocks when halving (192 → 96 rule) and copies on equal sizes', () => {
    const data = Float32Array.from({ length: 4 * 4 * 2 }, (_, i) => i * i);
    const r = resizeTrilinear({ data, shape: [1, 4, 4, 2] }, [2, 2, 1]);
    const at = (x: number, y: number, z: number) => data[(x * 4 + y) * 2 + z];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        let mean = 0;
        for (const [a, b, c] of [0, 1, 2, 3, 4, 5, 6, 7].map((m) => [m >> 2, (m >> 1) & 1, m & 1]))
          mean += at(2 * i + a, 2 * j + b, c) / 8;
        expect(r.data[i * 2 + j]).toBeCloseTo(mean, 3);
      }
    }
    expect(resizeTrilinear({ data, shape: [1, 4, 4, 2] }, [4, 4, 2]).data).toEqual(data);
  });
});

describe('cutBox', () => {
  it('copies the box for every channel and refuses boxes outside the volume', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
    const box = cutBox({ data, shape: [2, 3, 4, 5] }, { start: [1, 2, 3], size: [2, 1, 2] });
    expect(box.shape).toEqual([2, 2, 1, 2]);
    const at = (c: number, x: number, y: number, z: number) => data[((c * 3 + x) * 4 + y) * 5 + z];
    expect([...box.data]).toEqual([
      at(0, 1, 2, 3),
      at(0, 1, 2, 4),
      at(0, 2, 2, 3),
      at(0, 2, 2, 4),
      at(1, 1, 2, 3),
      at(1, 1, 2, 4),
      at(1, 2, 2, 3),
      at(1, 2, 2, 4),
    ]);
    expect(() => cutBox({ data, shape: [2, 3, 4, 5] }, { start: [2, 0, 0], size: [2, 1, 1] })).toThrow(
      /leaves the volume/,
    );
  });
});
