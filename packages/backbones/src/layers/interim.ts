/**
 * INTERIM layer modules — Conv3d, ConvTranspose3d, BatchNorm3d, channels-first LayerNorm, a depthwise causal
 * Conv1d and a ParameterList — written here until the shared `@mim/tensor` nn layers land (then this file is
 * deleted and the imports switch). Each is a thin Module over the functional ops of @mim/tensor, with PyTorch's
 * parameter names, shapes and default initialisation, so state dicts match the official checkpoints.
 */
import {
  batchNorm3d,
  conv3d,
  convTranspose3d,
  empty,
  layerNorm,
  Module,
  narrow,
  reshape,
  type Tensor,
  tensor,
  weightInit,
} from '@mim/tensor';

/** torch's default conv init: kaiming_uniform(a=√5) = U(±1/√fan_in) for the weight, U(±1/√fan_in) for the bias. */
function defaultConvInit(weight: Tensor, bias: Tensor | null, fanIn: number): void {
  const bound = 1 / Math.sqrt(fanIn);
  weightInit.uniform(weight, -bound, bound);
  if (bias) weightInit.uniform(bias, -bound, bound);
}

export interface Conv3dLayerOptions {
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
}

/** torch.nn.Conv3d (cubic kernels). weight (out, in/groups, k, k, k), bias (out). x: (N, in, D, H, W). */
export class Conv3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv3dLayerOptions = {},
  ) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.groups = options.groups ?? 1;
    const k = kernelSize;
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / this.groups, k, k, k], 'f32'));
    this.bias = options.bias === false ? null : this.registerParameter('bias', empty([outChannels], 'f32'));
    defaultConvInit(this.weight, this.bias, (inChannels / this.groups) * k * k * k);
  }

  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, groups: this.groups });
  }
}

/** torch.nn.ConvTranspose3d (cubic kernels). weight (in, out, k, k, k), bias (out). */
export class ConvTranspose3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride = 1,
    options: { bias?: boolean } = {},
  ) {
    super();
    const k = kernelSize;
    this.weight = this.registerParameter('weight', empty([inChannels, outChannels, k, k, k], 'f32'));
    this.bias = options.bias === false ? null : this.registerParameter('bias', empty([outChannels], 'f32'));
    // torch computes the fan-in of a transposed conv weight from dim 1: out·k³.
    defaultConvInit(this.weight, this.bias, outChannels * k * k * k);
  }

  forward(x: Tensor): Tensor {
    return convTranspose3d(x, this.weight, this.bias, { stride: this.stride });
  }
}

/**
 * torch.nn.BatchNorm3d: weight, bias, running_mean, running_var, num_batches_tracked (a rank-0 i32 here; int64
 * in PyTorch). Training mode uses batch statistics (biased variance) and updates the running statistics.
 */
export class BatchNorm3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.weight = this.registerParameter('weight', weightInit.ones(empty([numFeatures], 'f32')));
    this.bias = this.registerParameter('bias', weightInit.zeros(empty([numFeatures], 'f32')));
    this.registerBuffer('running_mean', weightInit.zeros(empty([numFeatures], 'f32')));
    this.registerBuffer('running_var', weightInit.ones(empty([numFeatures], 'f32')));
    this.registerBuffer('num_batches_tracked', tensor(new Int32Array([0]), [], { dtype: 'i32' }));
  }

  forward(x: Tensor): Tensor {
    return batchNorm3d(x, this.getBuffer('running_mean'), this.getBuffer('running_var'), this.weight, this.bias, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/**
 * LayerNorm over the channel axis of (N, C, D, H, W) (ConvNeXt's channels_first LayerNorm). With `mask`
 * (N, 1, D, H, W), the sparse variant of SparK/MambaMIM: masked voxels output 0.
 */
export class ChannelLayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly channels: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.registerParameter('weight', weightInit.ones(empty([channels], 'f32')));
    this.bias = this.registerParameter('bias', weightInit.zeros(empty([channels], 'f32')));
  }

  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    return layerNorm(x, this.weight, this.bias, { eps: this.eps, axis: 'channels', mask });
  }
}

/** LayerNorm over the last axis (torch.nn.LayerNorm(dim)). */
export class LastAxisLayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.registerParameter('weight', weightInit.ones(empty([dim], 'f32')));
    this.bias = this.registerParameter('bias', weightInit.zeros(empty([dim], 'f32')));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, { eps: this.eps, axis: 'last' });
  }
}

/**
 * Depthwise causal Conv1d (mamba's `conv1d`: groups = channels, padding = K−1, output cut to L).
 * weight (C, 1, K), bias (C). x: (B, C, L) → (B, C, L). Runs as a depthwise conv3d on (B, C, 1, 1, L).
 */
export class CausalConv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly channels: number,
    readonly kernelSize: number,
  ) {
    super();
    this.weight = this.registerParameter('weight', empty([channels, 1, kernelSize], 'f32'));
    this.bias = this.registerParameter('bias', empty([channels], 'f32'));
    defaultConvInit(this.weight, this.bias, kernelSize);
  }

  forward(x: Tensor): Tensor {
    const [B, C, L] = x.shape;
    const K = this.kernelSize;
    const volume = reshape(x, [B, C, 1, 1, L]);
    const kernel = reshape(this.weight, [C, 1, 1, 1, K]);
    const full = conv3d(volume, kernel, this.bias, { padding: [0, 0, K - 1], groups: C });
    const cut = narrow(full, 4, 0, L);
    const out = reshape(cut, [B, C, L]);
    for (const t of [volume, kernel, full, cut]) if (t !== out) t.dispose();
    return out;
  }
}

/** torch.nn.ParameterList: parameters named "0", "1", …. */
export class ParameterList extends Module {
  readonly items: Tensor[] = [];

  constructor(parameters: Tensor[]) {
    super();
    parameters.forEach((p, i) => {
      this.items.push(this.registerParameter(String(i), p));
    });
  }

  at(index: number): Tensor {
    return this.items[index];
  }
}
