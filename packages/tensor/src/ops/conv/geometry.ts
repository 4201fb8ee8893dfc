/**
 * Shapes and parameters of 3D convolutions, validated once and expressed in "conv space": a convolution maps
 * the big side X (N, CX, D, H, W) to the small side Y (N, CY, D', H', W') with a weight (CY, CX/G, kD, kH, kW).
 * conv3d runs X → Y (forward) and Y → X (its input gradient); convTranspose3d runs Y → X (forward) and X → Y
 * (its input gradient), so the same three kernels (direct, gather, weight gradient) serve both ops.
 */
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';

export type Triple = [number, number, number];

/** One value for all three axes, or [d, h, w]. */
export type SpatialParam = number | readonly [number, number, number];

export interface ConvGeometry {
  n: number;
  /** Channels of the big side (conv3d input, convTranspose3d output). */
  cx: number;
  /** Channels of the small side (conv3d output, convTranspose3d input). */
  cy: number;
  groups: number;
  xDims: Triple;
  yDims: Triple;
  kernel: Triple;
  stride: Triple;
  padding: Triple;
  dilation: Triple;
}

export const AXES = ['D', 'H', 'W'] as const;

export function cpgX(geom: ConvGeometry): number {
  return geom.cx / geom.groups;
}

export function cpgY(geom: ConvGeometry): number {
  return geom.cy / geom.groups;
}

export function kernelVolume(geom: ConvGeometry): number {
  return geom.kernel[0] * geom.kernel[1] * geom.kernel[2];
}

/** Parses a spatial parameter (number or [d, h, w]) into a triple of integers ≥ `min`. */
export function triple(
  op: string,
  name: string,
  value: SpatialParam | undefined,
  fallback: number,
  min: number,
): Triple {
  const v = value ?? fallback;
  const t: number[] = typeof v === 'number' ? [v, v, v] : [...v];
  if (t.length !== 3 || t.some((x) => !Number.isInteger(x) || x < min)) {
    throw new ShapeError(
      `${op}: ${name} must be an integer ≥ ${min} or a triple [d, h, w] of them, got ${JSON.stringify(value)} — pass e.g. ${name}: ${Math.max(min, 1)} or [${min}, ${min}, ${min}]`,
    );
  }
  return t as Triple;
}

const RANK_HINT = 'add a depth axis with unsqueeze';

/** Checks x is (N, C, D, H, W) and weight is 5-D, and that both are f32. */
export function checkRanks(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined): void {
  if (x.rank !== 5) {
    const names = x.rank === 4 ? ' (N, C, H, W)' : x.rank === 3 ? ' (N, C, L)' : '';
    const hint = x.rank === 4 ? RANK_HINT : 'reshape it to (N, C, D, H, W)';
    throw new ShapeError(
      `${op}: input has ${x.rank} dims${names} ${fmtShape(x.shape)}; expected 5 (N, C, D, H, W) — ${hint}`,
    );
  }
  if (weight.rank !== 5) {
    throw new ShapeError(
      `${op}: weight has ${weight.rank} dims ${fmtShape(weight.shape)}; expected 5 (${op === 'conv3d' ? 'Cout, Cin/groups' : 'Cin, Cout/groups'}, kD, kH, kW)`,
    );
  }
  for (const [name, t] of [
    ['input', x],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'f32') {
      throw new ShapeError(`${op}: ${name} has dtype ${t.dtype}; expected f32 — convert with cast(t, 'f32')`);
    }
  }
}

export function checkBias(op: string, bias: Tensor | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(
      `${op}: bias has shape ${fmtShape(bias.shape)}; expected [${channels}] (one value per output channel)`,
    );
  }
}

export function checkGroups(op: string, groups: number, cin: number, cout: number): void {
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
  }
  if (cin % groups !== 0 || cout % groups !== 0) {
    throw new ShapeError(
      `${op}: groups=${groups} must divide both the input channels (${cin}) and the output channels (${cout}) — pick a common divisor`,
    );
  }
}

/** The output extent of a convolution along one axis (floor division, as in PyTorch), validated. */
export function convOutSize(op: string, axis: number, n: number, k: number, s: number, p: number, d: number): number {
  const span = d * (k - 1) + 1;
  if (span > n + 2 * p) {
    throw new ShapeError(
      `${op}: kernel extent ${span} (kernel ${k}, dilation ${d}) is larger than the padded input ${n + 2 * p} (size ${n} + 2·padding ${p}) along ${AXES[axis]} — use a smaller kernel or more padding`,
    );
  }
  return Math.floor((n + 2 * p - span) / s) + 1;
}

/** Human-readable summary for error messages. */
export function describeGeometry(geom: ConvGeometry): string {
  return `x [${geom.n}, ${geom.cx}, ${geom.xDims.join(', ')}], y [${geom.n}, ${geom.cy}, ${geom.yDims.join(', ')}], k ${geom.kernel.join('x')}, s ${geom.stride.join(',')}, p ${geom.padding.join(',')}, dil ${geom.dilation.join(',')}, groups ${geom.groups}`;
}
