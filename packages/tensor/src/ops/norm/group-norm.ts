/**
 * groupNorm, instanceNorm3d and batchNorm3d on channels-first volumes (N, C, …): the statistics group is a
 * block of C/G channels of one sample (groupNorm; instanceNorm is G = C) or one channel over the whole batch
 * (batchNorm). Kernels in plane.ts; this file validates, picks the grouping and records the backward.
 */
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { reshape } from '../movement/views.js';
import { applyRows, finalizeBackward, finalizeForward, type Grouping, mergeSlots, partials } from './plane.js';
import { checkAffine, disposeAll, makePlane, type NormMask, prepareMask, recordNorm } from './shared.js';

export interface NormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Visible positions (non-zero; u32, i32 or f32), broadcastable to (N, 1, D, H, W). Statistics use visible
   * positions only; masked positions output 0 and get zero gradient (SparK / MambaMIM sparse norms).
   */
  mask?: NormMask | null;
}

export interface BatchNormOptions extends NormOptions {
  /** Batch statistics (and running-stat updates) when true, running statistics when false. Default true. */
  training?: boolean;
  /** running ← (1 − momentum)·running + momentum·batch (default 0.1; PyTorch's convention). */
  momentum?: number;
}

interface PlaneNormSpec {
  op: string;
  x: Tensor;
  weight: Tensor | null;
  bias: Tensor | null;
  eps: number;
  mask: Tensor | null;
  grouping: Grouping;
  /** batchNorm: eval reads them, training (momentum given) updates them in place. */
  running: { mean: Tensor; variance: Tensor; training: boolean; momentum: number } | null;
  minRank: number;
}

function planeNorm(spec: PlaneNormSpec): Tensor {
  const { op, x, weight, bias, eps, grouping, running } = spec;
  const shape = x.shape;
  if (spec.minRank === 5 && x.rank !== 5) {
    throw new ShapeError(
      `${op}: x has ${x.rank} dims ${fmtShape(shape)}; expected 5 (N, C, D, H, W) — add the missing axes with unsqueeze`,
    );
  }
  checkAffine(op, x, shape[1] ?? 0, weight, bias, 'axis 1', spec.minRank);
  const N = shape[0];
  const C = shape[1];
  const S = shape.slice(2).reduce((a, d) => a * d, 1);
  const mask = prepareMask(op, x, spec.mask, [N, 1, ...shape.slice(2)], [N, S]);
  const plane = makePlane(x, N, C, S, mask);
  const useRunning = running !== null && !running.training;
  let out: Tensor;
  let coef: { rowCoef: Tensor; groupStats: Tensor } | null = null;
  if (x.size === 0) {
    out = empty(shape, 'f32', op);
  } else {
    if (useRunning) {
      coef = finalizeForward(plane, grouping, {
        eps,
        weight,
        bias,
        source: { kind: 'running', mean: running.mean, variance: running.variance },
        update: null,
      });
    } else {
      const { slots, groups, members } = partials(plane, grouping, null);
      const stats = mergeSlots(slots, groups, members, 'stats');
      coef = finalizeForward(plane, grouping, {
        eps,
        weight,
        bias,
        source: { kind: 'batch', stats },
        update: running ? { mean: running.mean, variance: running.variance, momentum: running.momentum } : null,
      });
      stats.dispose();
    }
    out = applyRows(plane, coef.rowCoef, null);
  }
  const result = reshape(out, shape);
  out.dispose();
  recordNorm(
    op,
    { x, weight, bias },
    result,
    plane,
    coef ? [coef.rowCoef, coef.groupStats] : null,
    (p, g, [rowCoef, groupStats], w) => {
      const { slots, groups, members } = partials(p, { kind: 'row' }, { g, rowCoef });
      const rowSums = mergeSlots(slots, groups, members, 'sum');
      const { dxCoef, dWeight, dBias } = finalizeBackward(p, grouping, rowSums, groupStats, w, useRunning);
      const dx = applyRows(p, dxCoef, g);
      disposeAll(rowSums, dxCoef);
      return { dx, dWeight, dBias };
    },
  );
  disposeAll(plane.x, mask, coef?.rowCoef, coef?.groupStats);
  return result;
}

/**
 * Group normalisation: x (N, C, …), C divisible by `groups`; statistics per sample over each block of C/groups
 * channels and all positions. weight, bias: (C). Returns x's shape.
 */
export function groupNorm(
  x: Tensor,
  groups: number,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: NormOptions = {},
): Tensor {
  const C = x.shape[1] ?? 0;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) {
    throw new ShapeError(
      `groupNorm: x ${fmtShape(x.shape)} has ${C} channels, not divisible by groups = ${groups}; pick a divisor of ${C}`,
    );
  }
  return planeNorm({
    op: 'groupNorm',
    x,
    weight,
    bias,
    eps: options.eps ?? 1e-5,
    mask: options.mask ?? null,
    grouping: { kind: 'block', groups },
    running: null,
    minRank: 2,
  });
}

/** Instance normalisation: x (N, C, D, H, W); statistics per (n, c) over all positions. weight, bias: (C). */
export function instanceNorm3d(
  x: Tensor,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: NormOptions = {},
): Tensor {
  return planeNorm({
    op: 'instanceNorm3d',
    x,
    weight,
    bias,
    eps: options.eps ?? 1e-5,
    mask: options.mask ?? null,
    grouping: { kind: 'block', groups: x.shape[1] ?? 1 },
    running: null,
    minRank: 5,
  });
}

/**
 * Batch normalisation: x (N, C, D, H, W); runningMean, runningVar: (C) or null. Training: statistics per
 * channel over (N, D, H, W) (visible positions only with a mask), biased variance for normalising, and the
 * running statistics (when given) updated in place with the unbiased variance; gradients flow through μ and
 * var. Eval: the running statistics.
 */
export function batchNorm3d(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: BatchNormOptions = {},
): Tensor {
  const training = options.training ?? true;
  const C = x.shape[1] ?? 0;
  if ((runningMean === null) !== (runningVar === null)) {
    throw new ShapeError('batchNorm3d: pass both runningMean and runningVar, or neither');
  }
  if (!training && !runningMean) {
    throw new ShapeError('batchNorm3d: eval mode (training: false) needs runningMean and runningVar');
  }
  for (const [name, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
  ] as const) {
    if (!t) continue;
    if (t.dtype !== 'f32') throw new DTypeError(`batchNorm3d: ${name} must be f32, got ${t.dtype}`);
    if (t.rank !== 1 || t.shape[0] !== C) {
      throw new ShapeError(
        `batchNorm3d: ${name} has shape ${fmtShape(t.shape)} but x ${fmtShape(x.shape)} has ${C} channels; pass a (${C}) tensor`,
      );
    }
  }
  return planeNorm({
    op: 'batchNorm3d',
    x,
    weight,
    bias,
    eps: options.eps ?? 1e-5,
    mask: options.mask ?? null,
    grouping: { kind: 'batch' },
    running:
      runningMean && runningVar
        ? { mean: runningMean, variance: runningVar, training, momentum: options.momentum ?? 0.1 }
        : null,
    minRank: 5,
  });
}
