/**
 * Normalisation modules with PyTorch's parameter and buffer names. Every forward accepts an optional
 * visibility mask: statistics over visible positions only, masked positions output 0 (sparse norms of
 * SparK / MambaMIM).
 */

import { noGrad } from '../autograd/grad-mode.js';
import { full, ones, zeros } from '../ops/creation.js';
import { add } from '../ops/elementwise/binary.js';
import { batchNorm3d, groupNorm, instanceNorm3d } from '../ops/norm/group-norm.js';
import { layerNorm } from '../ops/norm/layer-norm.js';
import type { NormMask } from '../ops/norm/shared.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface MaskedForward {
  /** Visible positions (non-zero), broadcastable to (N, 1, D, H, W) (or (…, 1) for channels-last LayerNorm). */
  mask?: NormMask | null;
}

/**
 * LayerNorm over C: `dataFormat: 'channels_last'` normalises the last axis of (…, C) (torch.nn.LayerNorm);
 * `'channels_first'` normalises axis 1 of (N, C, D, H, W) (ConvNeXt / MedNeXt LayerNorm).
 */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  readonly dataFormat: 'channels_last' | 'channels_first';

  constructor(
    readonly normalizedShape: number,
    options: {
      eps?: number;
      elementwiseAffine?: boolean;
      bias?: boolean;
      dataFormat?: 'channels_last' | 'channels_first';
    } = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.dataFormat = options.dataFormat ?? 'channels_last';
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine
      ? this.registerParameter('weight', ones([normalizedShape]))
      : this.registerParameter('weight', null);
    this.bias =
      affine && options.bias !== false
        ? this.registerParameter('bias', zeros([normalizedShape]))
        : this.registerParameter('bias', null);
  }

  forward(x: Tensor, options: MaskedForward = {}): Tensor {
    return layerNorm(x, this.weight, this.bias, {
      eps: this.eps,
      axis: this.dataFormat === 'channels_last' ? 'last' : 'channels',
      mask: options.mask ?? null,
    });
  }
}

export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.weight = affine
      ? this.registerParameter('weight', ones([numChannels]))
      : this.registerParameter('weight', null);
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels])) : this.registerParameter('bias', null);
  }

  forward(x: Tensor, options: MaskedForward = {}): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, { eps: this.eps, mask: options.mask ?? null });
  }
}

/** torch.nn.InstanceNorm3d (affine false by default, no running statistics). */
export class InstanceNorm3d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly numFeatures: number,
    options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? false;
    this.weight = affine
      ? this.registerParameter('weight', ones([numFeatures]))
      : this.registerParameter('weight', null);
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : this.registerParameter('bias', null);
  }

  forward(x: Tensor, options: MaskedForward = {}): Tensor {
    return instanceNorm3d(x, this.weight, this.bias, { eps: this.eps, mask: options.mask ?? null });
  }
}

/**
 * torch.nn.BatchNorm3d: batch statistics and running-stat updates in training, running statistics in eval.
 * Buffers running_mean, running_var, num_batches_tracked (saved as int64 like PyTorch).
 */
export class BatchNorm3d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const affine = options.affine ?? true;
    this.weight = affine
      ? this.registerParameter('weight', ones([numFeatures]))
      : this.registerParameter('weight', null);
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : this.registerParameter('bias', null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'i32' }));
    }
  }

  forward(x: Tensor, options: MaskedForward = {}): Tensor {
    const useBatchStats = this.training || !this.trackRunningStats;
    const runningMean = this.getBuffer('running_mean');
    const runningVar = this.getBuffer('running_var');
    const out = batchNorm3d(x, runningMean, runningVar, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
      mask: options.mask ?? null,
    });
    if (this.training && this.trackRunningStats) {
      const tracked = this.getBuffer('num_batches_tracked')!;
      this.setBuffer(
        'num_batches_tracked',
        noGrad(() => add(tracked, 1)),
      );
    }
    return out;
  }
}
