/**
 * Parameter initialisers matching PyTorch / timm conventions, all seeded through the Philox generator
 * (explicit `seed`, or the global generator set by `manualSeed`). Each fills an existing tensor in place.
 */

import { noGrad } from '../autograd/grad-mode.js';
import { full } from '../ops/creation.js';
import { mapElementwise } from '../ops/elementwise/launcher.js';
import { type RandomOptions, rand, randn } from '../random/random.js';
import { fmtShape, ShapeError } from '../runtime/errors.js';
import { f32Literal } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { copyTensorInto } from './module.js';

/** torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.rank < 2) throw new ShapeError(`init: fan in/out need at least 2 dims, got ${fmtShape(t.shape)}`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function fillFrom(target: Tensor, make: () => Tensor): Tensor {
  noGrad(() => {
    const source = make();
    copyTensorInto(target, source, 'init');
    source.dispose();
  });
  return target;
}

export function constant(t: Tensor, value: number): Tensor {
  return fillFrom(t, () => full(t.shape, value, { dtype: t.dtype }));
}
export const zeros = (t: Tensor): Tensor => constant(t, 0);
export const ones = (t: Tensor): Tensor => constant(t, 1);

export function uniform(t: Tensor, low = 0, high = 1, options: RandomOptions = {}): Tensor {
  return fillFrom(t, () => rand(t.shape, { ...options, low, high }));
}

export function normal(t: Tensor, mean = 0, std = 1, options: RandomOptions = {}): Tensor {
  return fillFrom(t, () => randn(t.shape, { ...options, mean, std }));
}

/** Giles' single-precision erfinv (relative error ~1e-7), then the timm/torch inverse-CDF recipe. */
const ERFINV = `
fn erfinv1(x: f32) -> f32 {
  var w = -log((1.0 - x) * (1.0 + x));
  var p: f32;
  if (w < 5.0) {
    w = w - 2.5;
    p = 2.81022636e-08; p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w; p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257; p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w; p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * x;
}`;

const normCdf = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is enough for the truncation bounds (used only to place [a, b]).
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    t *
      (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

export interface TruncNormalOptions extends RandomOptions {
  mean?: number;
  std?: number;
  /** Absolute bounds (timm default −2, 2). */
  a?: number;
  b?: number;
}

/** timm's trunc_normal_: normal(mean, std) truncated to [a, b] by the inverse CDF. */
export function truncNormal(t: Tensor, options: TruncNormalOptions = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  const lo = 2 * normCdf((a - mean) / std) - 1;
  const hi = 2 * normCdf((b - mean) / std) - 1;
  return fillFrom(t, () => {
    const u = rand(t.shape, { ...options, low: lo, high: hi });
    // Bounds and moments are baked into the kernel: few distinct values per model.
    const body = `clamp(erfinv1(clamp(v, -0.99999994, 0.99999994)) * ${f32Literal(std * Math.SQRT2)} + ${f32Literal(mean)}, ${f32Literal(a)}, ${f32Literal(b)})`;
    const out = mapElementwise({
      name: 'trunc_normal',
      inputs: [u],
      helpers: `${ERFINV}\nfn trunc1(v: f32) -> f32 { return ${body}; }`,
      source: (ty) =>
        ty.vec
          ? 'fn op(u: vec4<f32>) -> vec4<f32> { return vec4<f32>(trunc1(u[0]), trunc1(u[1]), trunc1(u[2]), trunc1(u[3])); }'
          : 'fn op(u: f32) -> f32 { return trunc1(u); }',
    });
    u.dispose();
    return out;
  });
}

export function xavierUniform(t: Tensor, gain = 1, options: RandomOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, options);
}

export function xavierNormal(t: Tensor, gain = 1, options: RandomOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), options);
}

export interface KaimingOptions extends RandomOptions {
  /** Negative slope of the leaky ReLU (torch default 0). */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: 'relu' | 'leaky_relu' | 'linear' | 'tanh' | 'sigmoid' | 'gelu';
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const nl = options.nonlinearity ?? 'leaky_relu';
  const a = options.a ?? 0;
  const gain =
    nl === 'relu' ? Math.SQRT2 : nl === 'leaky_relu' ? Math.sqrt(2 / (1 + a * a)) : nl === 'tanh' ? 5 / 3 : 1;
  return gain / Math.sqrt(fan);
}

export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd(t, options), options);
}

export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform(t, -bound, bound, options);
}
