/**
 * Conv3d / ConvTranspose3d modules with PyTorch's parameter names, shapes and default initialisation
 * (kaiming_uniform(a = √5) for the weight, U(±1/√fan_in) for the bias).
 */
import { type Conv3dOptions, type ConvTranspose3dOptions, conv3d, convTranspose3d } from '../ops/conv/conv3d.js';
import type { SpatialParam } from '../ops/conv/geometry.js';
import { empty } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { fans, uniform } from './init.js';
import { Module } from './module.js';

const triple = (v: SpatialParam): [number, number, number] => (typeof v === 'number' ? [v, v, v] : [v[0], v[1], v[2]]);

export interface Conv3dLayerOptions {
  stride?: SpatialParam;
  padding?: SpatialParam;
  dilation?: SpatialParam;
  groups?: number;
  bias?: boolean;
}

function resetConv(weight: Tensor, bias: Tensor | null, fanIn: number): void {
  const bound = 1 / Math.sqrt(fanIn);
  uniform(weight, -bound, bound);
  if (bias) uniform(bias, -bound, bound);
}

/** 3-D convolution. weight: (out, in/groups, kD, kH, kW), bias: (out). */
export class Conv3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Conv3dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: SpatialParam,
    options: Conv3dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    this.weight = this.registerParameter(
      'weight',
      empty([outChannels, inChannels / groups, ...triple(kernelSize)], 'f32', 'Conv3d'),
    );
    this.bias =
      options.bias === false
        ? this.registerParameter('bias', null)
        : this.registerParameter('bias', empty([outChannels], 'f32', 'Conv3d'));
    this.options = { stride: options.stride, padding: options.padding, dilation: options.dilation, groups };
    this.resetParameters();
  }

  resetParameters(): void {
    resetConv(this.weight, this.bias, fans(this.weight).fanIn);
  }

  /** x: (N, in, D, H, W) → (N, out, D′, H′, W′). */
  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, this.options);
  }
}

export interface ConvTranspose3dLayerOptions extends Conv3dLayerOptions {
  outputPadding?: SpatialParam;
}

/** 3-D transposed convolution. weight: (in, out/groups, kD, kH, kW) (PyTorch layout), bias: (out). */
export class ConvTranspose3d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: ConvTranspose3dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: SpatialParam,
    options: ConvTranspose3dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    this.weight = this.registerParameter(
      'weight',
      empty([inChannels, outChannels / groups, ...triple(kernelSize)], 'f32', 'ConvTranspose3d'),
    );
    this.bias =
      options.bias === false
        ? this.registerParameter('bias', null)
        : this.registerParameter('bias', empty([outChannels], 'f32', 'ConvTranspose3d'));
    this.options = {
      stride: options.stride,
      padding: options.padding,
      outputPadding: options.outputPadding,
      dilation: options.dilation,
      groups,
    };
    this.resetParameters();
  }

  resetParameters(): void {
    // torch computes fan_in from weight.shape[1] · receptive field for transposed convs too.
    resetConv(this.weight, this.bias, fans(this.weight).fanIn);
  }

  forward(x: Tensor): Tensor {
    return convTranspose3d(x, this.weight, this.bias, this.options);
  }
}
