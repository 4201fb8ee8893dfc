import { afterEach, describe, expect, it } from 'vitest';
import { tensor } from '../ops/creation.js';
import { scope } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { expectAllClose } from '../test/index.js';
import { mulHiLo, philox4x32, philoxWords } from './philox.js';
import { bernoulli, generatorState, manualSeed, rand, randint, randn, setGeneratorState } from './random.js';
import { bernoulliRef, randintRef, randnRef, randRef } from './reference.js';

const read = async (t: Tensor) => Array.from(await t.toArray());

describe('philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    const hex = (w: number[]) => w.map((v) => v.toString(16).padStart(8, '0')).join(' ');
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const ones = 0xffffffff;
    expect(hex(philox4x32([ones, ones, ones, ones], [ones, ones]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
  });

  it('builds the 64-bit product from 16-bit limbs exactly (vs BigInt)', () => {
    const words = philoxWords(7, 0, 2000);
    const cases: [number, number][] = [
      [0xffffffff, 0xffffffff],
      [0, 0xffffffff],
      [0xd2511f53, 0xffffffff],
      [0x10000, 0xffff],
    ];
    for (let i = 0; i + 1 < words.length; i += 2) cases.push([words[i], words[i + 1]]);
    for (const [a, b] of cases) {
      const p = BigInt(a) * BigInt(b);
      expect(mulHiLo(a, b)).toEqual([Number(p >> 32n), Number(p & 0xffffffffn)]);
    }
  });
});

describe('rand / randn / bernoulli / randint on the GPU', () => {
  afterEach(() => manualSeed(0x5eed));

  it('rand equals the TypeScript Philox bit for bit (odd sizes, several seeds)', async () => {
    using _ = scope();
    for (const [shape, seed, offset] of [
      [[1], 0, 0],
      [[7], 1, 0],
      [[3, 5, 11], 2 ** 40 + 12345, 3],
      [[1031], 0xdeadbeef, 2 ** 33 + 5],
    ] as [number[], number, number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const got = new Float32Array(await rand(shape, { seed, offset }).toArray());
      const ref = randRef(n, seed, offset);
      expect(Array.from(got)).toEqual(Array.from(ref));
      expect(got.every((v) => v >= 0 && v < 1)).toBe(true);
    }
    const scaled = await read(rand([333], { seed: 9, low: -2, high: 3 }));
    expectAllClose(scaled, randRef(333, 9, 0, -2, 3), 1e-7, 'rand(low, high)');
  });

  it('element i depends only on (seed, offset, i), not on the shape or the split', async () => {
    using _ = scope();
    const long = await read(rand([4099], { seed: 42 }));
    const short = await read(rand([13], { seed: 42 }));
    const matrix = await read(rand([7, 9], { seed: 42 }));
    expect(short).toEqual(long.slice(0, 13));
    expect(matrix).toEqual(long.slice(0, 63));
  });

  it('randn matches the float64 Box–Muller reference within 1e-6 and has mean 0, std 1', async () => {
    using _ = scope();
    const n = 100_003;
    const got = await read(randn([n], { seed: 123 }));
    const ref = randnRef(n, 123);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
    expect(worst).toBeLessThan(1e-6 * Math.max(1, ...ref.map(Math.abs)));
    const mean = got.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(got.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    expect(got.every(Number.isFinite)).toBe(true);
    const shifted = await read(randn([5, 7], { seed: 5, mean: 3, std: 0.5 }));
    expectAllClose(shifted, randnRef(35, 5, 0, 3, 0.5), 1e-6, 'randn(mean, std)');
  });

  it('rand has the moments of U(0, 1) over 1e5 samples', async () => {
    using _ = scope();
    const n = 100_000;
    const got = await read(rand([n], { seed: 77 }));
    const mean = got.reduce((a, b) => a + b, 0) / n;
    const variance = got.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('bernoulli with a number and with a broadcast tensor p', async () => {
    using _ = scope();
    const got = await read(bernoulli(0.3, [101, 99], { seed: 3 }));
    expect(got).toEqual(Array.from(bernoulliRef(101 * 99, () => 0.3, 3)));
    const frequency = got.reduce((a, b) => a + b, 0) / got.length;
    expect(Math.abs(frequency - 0.3)).toBeLessThan(0.02);
    const pValues = [0, 0.25, 0.5, 0.9, 1];
    const p = tensor(new Float32Array(pValues), [5]);
    const many = await read(bernoulli(p, [211, 5], { seed: 4 }));
    expect(many).toEqual(Array.from(bernoulliRef(211 * 5, (i) => pValues[i % 5], 4)));
    for (let j = 0; j < 5; j++) {
      const column = many.filter((_, i) => i % 5 === j);
      expect(Math.abs(column.reduce((a, b) => a + b, 0) / column.length - pValues[j])).toBeLessThan(0.1);
    }
    expect(many.filter((_, i) => i % 5 === 0).every((v) => v === 0)).toBe(true);
    expect(many.filter((_, i) => i % 5 === 4).every((v) => v === 1)).toBe(true);
    const own = await read(bernoulli(tensor(new Float32Array([0.2, 0.7, 0.5]), [3]), undefined, { seed: 1 }));
    expect(own).toEqual(Array.from(bernoulliRef(3, (i) => [0.2, 0.7, 0.5][i], 1)));
    expect(() => bernoulli(p, [5, 3])).toThrow(/bernoulli: p \[5\] does not broadcast/);
  });

  it('randint matches the reference and covers [low, high)', async () => {
    using _ = scope();
    const got = await read(randint(-3, 8, [1001], { seed: 11 }));
    expect(got).toEqual(Array.from(randintRef(1001, -3, 8, 11)));
    expect(new Set(got)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]));
    const wide = await read(randint(-(2 ** 31), 2 ** 31 - 1, [37], { seed: 12 }));
    expect(wide).toEqual(Array.from(randintRef(37, -(2 ** 31), 2 ** 31 - 1, 12)));
    const full = await read(randint(0, 2 ** 32, [9], { seed: 13, dtype: 'u32' }));
    expect(full).toEqual(Array.from(philoxWords(13, 0, 9)));
    expect(() => randint(5, 5, [2])).toThrow(/randint/);
  });

  it('same seed → same numbers, different seeds or offsets → different numbers', async () => {
    using _ = scope();
    const a = await read(rand([257], { seed: 1 }));
    const b = await read(rand([257], { seed: 1 }));
    const c = await read(rand([257], { seed: 2 }));
    const d = await read(rand([257], { seed: 1, offset: 1 }));
    expect(a).toEqual(b);
    expect(a.filter((v, i) => v === c[i]).length).toBeLessThan(3);
    expect(a.filter((v, i) => v === d[i]).length).toBeLessThan(3);
  });

  it('the global generator is deterministic after manualSeed and advances per call', async () => {
    using _ = scope();
    manualSeed(2024);
    const first = await read(randn([65]));
    const second = await read(randn([65]));
    expect(generatorState()).toEqual({ seed: 2024, offset: 2 });
    manualSeed(2024);
    expect(await read(randn([65]))).toEqual(first);
    const saved = generatorState();
    expect(await read(randn([65]))).toEqual(second);
    setGeneratorState(saved);
    expect(await read(randn([65]))).toEqual(second);
    expect(first).not.toEqual(second);
    expectAllClose(first, randnRef(65, 2024, 0), 1e-6, 'randn from the global generator');
  });

  it('rejects bad seeds and probabilities', () => {
    expect(() => rand([2], { seed: -1 })).toThrow(/rand: seed/);
    expect(() => bernoulli(1.5, [2])).toThrow(/bernoulli: p must be in/);
    expect(() => rand([2, -1])).toThrow(/rand: invalid shape/);
  });
});
