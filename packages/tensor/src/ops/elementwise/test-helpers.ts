/**
 * Test-only helpers for the core op tests: inputs in several memory layouts (contiguous, permuted, strided
 * slice, broadcast-expanded, offset views) with their float64 values, and a forward + backward check of a GPU
 * op against its float64 reference, its analytic gradient and central finite differences.
 */
import { expect } from 'vitest';
import type { Tensor } from '../../tensor.js';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { expand, permute, reshape, slice } from '../movement/views.js';
import {
  expandGradRef,
  expandRef,
  permuteGradRef,
  permuteRef,
  sliceGradRef,
  sliceRef,
} from '../movement/views-reference.js';
import { type RefArray, refArray, refSize } from './reference.js';

/**
 * contiguous: a fresh tensor. permuted: a transposed view. sliced: every other element of a larger tensor.
 * expanded: even axes broadcast from size 1 (stride 0). offset4 / offset3: a contiguous view starting at
 * element 4 (vec4-aligned) or 3 (not aligned) of a larger buffer.
 */
export type Layout = 'contiguous' | 'permuted' | 'sliced' | 'expanded' | 'offset4' | 'offset3';

export interface TestInput {
  /** The tensor the user owns (requires grad when asked); its gradient is checked. */
  leaf: Tensor;
  /** The view in the requested layout, fed to the op. */
  view: Tensor;
  /** Float64 values of `view`. */
  ref: RefArray;
  /** Maps a float64 gradient of `view` to the gradient of `leaf` (the adjoint of the view). */
  toLeafGrad(g: RefArray): RefArray;
}

export interface InputOptions {
  low?: number;
  high?: number;
  requiresGrad?: boolean;
}

/** An input of logical `shape` in `layout`, with seeded uniform values in [low, high). */
export function makeInput(
  shape: readonly number[],
  layout: Layout,
  seed: number,
  options: InputOptions = {},
): TestInput {
  const { low = -2, high = 2, requiresGrad = false } = options;
  const make = (baseShape: number[]) => {
    const ref = refArray(randomArray(refSize(baseShape), seed, low, high), baseShape);
    const leaf = tensor(Float32Array.from(ref.data), baseShape, { requiresGrad });
    return { leaf, ref };
  };
  const rank = shape.length;
  switch (layout) {
    case 'contiguous': {
      const { leaf, ref } = make([...shape]);
      return { leaf, view: leaf, ref, toLeafGrad: (g) => g };
    }
    case 'permuted': {
      const axes = Array.from({ length: rank }, (_, i) => rank - 1 - i);
      const { leaf, ref } = make(axes.map((a) => shape[a]));
      return {
        leaf,
        view: permute(leaf, axes),
        ref: permuteRef(ref, axes),
        toLeafGrad: (g) => permuteGradRef(g, axes),
      };
    }
    case 'sliced': {
      const ranges = shape.map(() => ({ start: 1, step: 2 }));
      const baseShape = shape.map((d) => 2 * d + 1);
      const { leaf, ref } = make(baseShape);
      return {
        leaf,
        view: slice(leaf, ranges),
        ref: sliceRef(ref, ranges),
        toLeafGrad: (g) => sliceGradRef(baseShape, ranges, g),
      };
    }
    case 'expanded': {
      const baseShape = shape.map((d, i) => (i % 2 === 0 ? 1 : d));
      const { leaf, ref } = make(baseShape);
      return {
        leaf,
        view: expand(leaf, shape),
        ref: expandRef(ref, shape),
        toLeafGrad: (g) => expandGradRef(baseShape, g),
      };
    }
    case 'offset4':
    case 'offset3': {
      const start = layout === 'offset4' ? 4 : 3;
      const n = refSize(shape);
      const baseShape = [n + start + 2];
      const { leaf, ref } = make(baseShape);
      const range = [{ start, end: start + n }];
      const flat = slice(leaf, range);
      const view = reshape(flat, shape);
      flat.dispose();
      return {
        leaf,
        view,
        ref: { shape: [...shape], data: sliceRef(ref, range).data },
        toLeafGrad: (g) => sliceGradRef(baseShape, range, { shape: [n], data: g.data }),
      };
    }
  }
}

export async function readF64(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.toArray());
}

export interface OpCheck {
  name: string;
  inputs: TestInput[];
  /** The GPU op applied to the views. */
  run: (views: Tensor[]) => Tensor;
  /** The float64 reference applied to the views' values. */
  ref: (refs: RefArray[]) => RefArray;
  /** Analytic float64 gradients (one per input) of Σ ref(refs) ⊙ g; omit to skip the backward check. */
  grad?: (refs: RefArray[], g: RefArray) => (RefArray | null)[];
  /** Forward tolerance (default TOLERANCE.elementwise). */
  tolerance?: number;
  /** Check against finite differences of `ref` (default: when every input has ≤ 300 elements). */
  finiteDifferences?: boolean;
  seed?: number;
}

/** Runs forward and (if `grad`) backward, comparing with the reference; disposes what it created. */
export async function checkOp(spec: OpCheck): Promise<void> {
  const tol = spec.tolerance ?? TOLERANCE.elementwise;
  const refs = spec.inputs.map((x) => x.ref);
  const out = spec.run(spec.inputs.map((x) => x.view));
  const expected = spec.ref(refs);
  const created: Tensor[] = [out];
  try {
    expect(out.shape).toEqual(expected.shape);
    expectAllClose(await readF64(out), expected.data, tol, `${spec.name} forward`);
    if (!spec.grad) return;
    const upstream = refArray(randomArray(expected.data.length, (spec.seed ?? 7) + 101, -1, 1), expected.shape);
    const gradOutput = tensor(Float32Array.from(upstream.data), expected.shape);
    created.push(gradOutput);
    out.backward(gradOutput);
    const analytic = spec.grad(refs, upstream);
    const useFd = spec.finiteDifferences ?? refs.every((r) => r.data.length <= 300);
    const numeric = useFd
      ? finiteDifferences(
          (xs) => spec.ref(xs.map((data, k) => ({ shape: refs[k].shape, data }))).data,
          refs.map((r) => Float64Array.from(r.data)),
          upstream.data,
          { which: spec.inputs.map((x, k) => (x.leaf.requiresGrad ? k : -1)).filter((k) => k >= 0) },
        )
      : null;
    for (const [k, input] of spec.inputs.entries()) {
      if (!input.leaf.requiresGrad) continue;
      const want = analytic[k];
      if (!want) continue;
      expect(input.leaf.grad, `${spec.name}: input ${k} got no gradient`).not.toBeNull();
      const got = await readF64(input.leaf.grad!);
      const leafWant = input.toLeafGrad(want);
      expectAllClose(got, leafWant.data, tol, `${spec.name} grad ${k} vs analytic`);
      if (numeric) {
        const leafNumeric = input.toLeafGrad({ shape: refs[k].shape, data: numeric[k] });
        expectAllClose(leafWant.data, leafNumeric.data, TOLERANCE.finiteDifference, `${spec.name} analytic vs fd ${k}`);
        expectAllClose(got, leafNumeric.data, TOLERANCE.finiteDifference, `${spec.name} grad ${k} vs fd`);
      }
    }
  } finally {
    for (const t of created) t.dispose();
    for (const x of spec.inputs) {
      if (x.view !== x.leaf) x.view.dispose();
      x.leaf.dispose();
    }
  }
}
