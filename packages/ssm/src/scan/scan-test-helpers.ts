/**
 * Test helpers for the scan: random problems, upload to tensors, run through the float64 reference.
 */
import { fromTypedArray, type Tensor } from '@mim/tensor';
import { randomArray } from '@mim/tensor/test';
import { type ScanReferenceInput, selectiveScanReference } from './reference.js';

export interface ScanCase {
  batch: number;
  dim: number;
  len: number;
  state: number;
  groups?: number;
  /** B/C as (batch, G, N, L) even when G = 1. */
  grouped?: boolean;
  hasD?: boolean;
  hasZ?: boolean;
  hasBias?: boolean;
  softplus?: boolean;
  hasInit?: boolean;
  seed?: number;
}

export interface ScanProblem {
  spec: Required<ScanCase>;
  arrays: {
    u: Float32Array;
    delta: Float32Array;
    A: Float32Array;
    B: Float32Array;
    C: Float32Array;
    D: Float32Array | null;
    z: Float32Array | null;
    deltaBias: Float32Array | null;
    initialState: Float32Array | null;
  };
}

/** Random inputs in the ranges Mamba sees: A = −(0.5..N), Δ raw in [−3, 1] (softplus) or (0.01, 0.6). */
export function makeProblem(c: ScanCase): ScanProblem {
  const spec: Required<ScanCase> = {
    groups: 1,
    grouped: false,
    hasD: true,
    hasZ: true,
    hasBias: true,
    softplus: true,
    hasInit: false,
    seed: 1,
    ...c,
  };
  const { batch, dim, len, state, groups, seed } = spec;
  const bdl = batch * dim * len;
  const A = randomArray(dim * state, seed + 3, 0.5, 1);
  for (let i = 0; i < A.length; i++) A[i] = -A[i] * (1 + (i % state));
  return {
    spec,
    arrays: {
      u: randomArray(bdl, seed + 1),
      delta: spec.softplus ? randomArray(bdl, seed + 2, -3, 1) : randomArray(bdl, seed + 2, 0.01, 0.6),
      A,
      B: randomArray(batch * groups * state * len, seed + 4),
      C: randomArray(batch * groups * state * len, seed + 5),
      D: spec.hasD ? randomArray(dim, seed + 6) : null,
      z: spec.hasZ ? randomArray(bdl, seed + 7, -2, 2) : null,
      deltaBias: spec.hasBias ? randomArray(dim, seed + 8, -1, 0.5) : null,
      initialState: spec.hasInit ? randomArray(batch * dim * state, seed + 9) : null,
    },
  };
}

export interface ScanTensors {
  u: Tensor;
  delta: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  D: Tensor | null;
  z: Tensor | null;
  deltaBias: Tensor | null;
  initialState: Tensor | null;
}

export function uploadProblem(p: ScanProblem, requireGrad = false): ScanTensors {
  const { batch, dim, len, state, groups, grouped } = p.spec;
  const bc = grouped ? [batch, groups, state, len] : [batch, state, len];
  const up = (a: Float32Array | null, shape: number[]) => {
    if (!a) return null;
    const t = fromTypedArray(a, shape);
    return requireGrad ? t.requireGrad() : t;
  };
  const a = p.arrays;
  return {
    u: up(a.u, [batch, dim, len])!,
    delta: up(a.delta, [batch, dim, len])!,
    A: up(a.A, [dim, state])!,
    B: up(a.B, bc)!,
    C: up(a.C, bc)!,
    D: up(a.D, [dim]),
    z: up(a.z, [batch, dim, len]),
    deltaBias: up(a.deltaBias, [dim]),
    initialState: up(a.initialState, [batch, dim, state]),
  };
}

export function referenceInput(
  p: ScanProblem,
  override: Partial<Record<keyof ScanProblem['arrays'], ArrayLike<number>>> = {},
): ScanReferenceInput {
  const a = { ...p.arrays, ...override };
  return {
    batch: p.spec.batch,
    dim: p.spec.dim,
    len: p.spec.len,
    state: p.spec.state,
    groups: p.spec.groups,
    u: a.u,
    delta: a.delta,
    A: a.A,
    B: a.B,
    C: a.C,
    D: a.D,
    z: a.z,
    deltaBias: a.deltaBias,
    initialState: a.initialState,
    deltaSoftplus: p.spec.softplus,
  };
}

export function runReference(p: ScanProblem) {
  return selectiveScanReference(referenceInput(p));
}
