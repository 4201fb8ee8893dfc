/**
 * conv3d and convTranspose3d (NCDHW): validation, kernel choice, autograd. Both ops are expressed in conv space
 * (see geometry.ts), so three kernel families serve forward and backward of both:
 *
 * | conv space            | conv3d          | convTranspose3d | kernels                                  |
 * | --------------------- | --------------- | --------------- | ---------------------------------------- |
 * | X → Y (direct)        | forward         | input gradient  | direct, depthwise, pointwise             |
 * | Y → X (gather)        | input gradient  | forward         | gather, depthwise, nonoverlap, pointwise |
 * | (X, gY) → gW          | weight gradient | weight gradient | tiled, depthwise (split reduction)       |
 *
 * The bias gradient is a sum of the output gradient over (N, D, H, W).
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { recordOp } from '../../autograd/record.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import { copy } from '../movement/copy.js';
import { sum } from '../reduce/reduce.js';
import { runDirect } from './direct.js';
import { type GatherVariant, isNonOverlapping, runGather } from './gather.js';
import {
  AXES,
  type ConvGeometry,
  checkBias,
  checkGroups,
  checkRanks,
  convOutSize,
  cpgX,
  cpgY,
  describeGeometry,
  type SpatialParam,
  triple,
} from './geometry.js';
import { isPointwise, runPointwise } from './pointwise.js';
import { runWeightGrad } from './weight-grad.js';

/** Which kernel conv3d uses (forward and input gradient); 'auto' picks from the shapes. For tests and tuning. */
export type Conv3dKernel = 'auto' | 'direct' | 'pointwise' | 'depthwise';
/** Which kernel convTranspose3d uses for its forward; 'auto' picks from the shapes. For tests and tuning. */
export type ConvTranspose3dKernel = 'auto' | 'gather' | 'nonoverlap' | 'pointwise' | 'depthwise';

export interface Conv3dOptions {
  stride?: SpatialParam;
  padding?: SpatialParam;
  dilation?: SpatialParam;
  groups?: number;
  kernel?: Conv3dKernel;
}

export interface ConvTranspose3dOptions {
  stride?: SpatialParam;
  padding?: SpatialParam;
  outputPadding?: SpatialParam;
  dilation?: SpatialParam;
  groups?: number;
  kernel?: ConvTranspose3dKernel;
}

type DirectChoice = 'auto' | 'direct' | 'pointwise' | 'depthwise';
type GatherChoice = 'auto' | GatherVariant | 'pointwise';

const isDepthwise = (geom: ConvGeometry): boolean => cpgX(geom) === 1 && cpgY(geom) === 1;

function requireKernel(op: string, kernel: string, ok: boolean, geom: ConvGeometry, needs: string): void {
  if (!ok) {
    throw new ShapeError(
      `${op}: kernel '${kernel}' needs ${needs}; got ${describeGeometry(geom)} — use kernel: 'auto'`,
    );
  }
}

/** `t` as a contiguous tensor at offset 0 (the kernels index buffers from element 0); copies when needed. */
function dense(t: Tensor): Tensor {
  return t.isContiguous && t.offset === 0 ? t : noGrad(() => copy(t));
}

function release(t: Tensor, original: Tensor): void {
  if (t !== original) t.dispose();
}

/** X → Y. */
function applyDirect(
  op: string,
  geom: ConvGeometry,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  choice: DirectChoice,
): Tensor {
  let variant = choice;
  if (choice === 'auto') variant = isPointwise(geom) ? 'pointwise' : isDepthwise(geom) ? 'depthwise' : 'direct';
  if (variant === 'pointwise') {
    requireKernel(
      op,
      'pointwise',
      isPointwise(geom),
      geom,
      'a 1×1×1 kernel, stride 1, padding 0, groups 1 and D·H·W % 4 = 0',
    );
    return runPointwise(geom, x, w, bias, 'forward', op);
  }
  if (variant === 'depthwise') requireKernel(op, 'depthwise', isDepthwise(geom), geom, 'groups = in = out channels');
  return runDirect(geom, x, w, bias, variant as 'direct' | 'depthwise', op);
}

/** Y → X. */
function applyGather(
  op: string,
  geom: ConvGeometry,
  y: Tensor,
  w: Tensor,
  bias: Tensor | null,
  choice: GatherChoice,
): Tensor {
  let variant = choice;
  if (choice === 'auto') {
    variant = isPointwise(geom)
      ? 'pointwise'
      : isDepthwise(geom)
        ? 'depthwise'
        : isNonOverlapping(geom)
          ? 'nonoverlap'
          : 'gather';
  }
  if (variant === 'pointwise') {
    requireKernel(
      op,
      'pointwise',
      isPointwise(geom),
      geom,
      'a 1×1×1 kernel, stride 1, padding 0, groups 1 and D·H·W % 4 = 0',
    );
    return runPointwise(geom, y, w, bias, 'transposed', op);
  }
  if (variant === 'depthwise') requireKernel(op, 'depthwise', isDepthwise(geom), geom, 'groups = in = out channels');
  if (variant === 'nonoverlap') {
    requireKernel(op, 'nonoverlap', isNonOverlapping(geom), geom, 'kernel = stride, padding 0 and dilation 1');
  }
  return runGather(geom, y, w, bias, variant as GatherVariant, op);
}

function weightGrad(op: string, geom: ConvGeometry, x: Tensor, gy: Tensor): Tensor {
  return runWeightGrad(geom, x, gy, isDepthwise(geom) ? 'depthwise' : 'tiled', op);
}

/** Records the shared backward of both ops; `bigIsInput` is true for conv3d (X is its input). */
function recordConv(
  op: string,
  geom: ConvGeometry,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  out: Tensor,
  directChoice: DirectChoice,
  gatherChoice: GatherChoice,
): void {
  const conv = op === 'conv3d';
  const needX = x.requiresGrad;
  const needW = weight.requiresGrad;
  const saved: Tensor[] = [];
  if (needW) saved.push(x);
  if (needX) saved.push(weight);
  recordOp(
    op,
    [x, weight, bias],
    [out],
    ([g], kept) => {
      if (!g) return [null, null, null];
      const savedX = needW ? kept[0] : null;
      const savedW = needX ? kept[needW ? 1 : 0] : null;
      const gd = dense(g);
      let gx: Tensor | null = null;
      let gw: Tensor | null = null;
      if (savedW) {
        const wd = dense(savedW);
        gx = conv
          ? applyGather(op, geom, gd, wd, null, gatherChoice)
          : applyDirect(op, geom, gd, wd, null, directChoice);
        release(wd, savedW);
      }
      if (savedX) {
        const xd = dense(savedX);
        gw = conv ? weightGrad(op, geom, xd, gd) : weightGrad(op, geom, gd, xd);
        release(xd, savedX);
      }
      const gb = bias?.requiresGrad ? sum(g, [0, 2, 3, 4]) : null;
      release(gd, g);
      return [gx, gw, gb];
    },
    saved,
  );
}

/**
 * 3D convolution (cross-correlation, zero padding), PyTorch semantics.
 * x (N, Cin, D, H, W), weight (Cout, Cin/groups, kD, kH, kW), bias (Cout) → (N, Cout, D', H', W') with
 * D' = floor((D + 2·padding − dilation·(kD − 1) − 1) / stride) + 1 (likewise H', W').
 */
export function conv3d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv3dOptions = {}): Tensor {
  const op = 'conv3d';
  checkRanks(op, x, weight, bias);
  const groups = options.groups ?? 1;
  const [n, cin] = x.shape;
  const cout = weight.shape[0];
  checkGroups(op, groups, cin, cout);
  if (weight.shape[1] * groups !== cin) {
    throw new ShapeError(
      `${op}: weight ${fmtShape(weight.shape)} expects ${weight.shape[1]} input channels per group (${weight.shape[1] * groups} with groups=${groups}), but the input ${fmtShape(x.shape)} has ${cin} — the weight must be (Cout, Cin/groups, kD, kH, kW)`,
    );
  }
  checkBias(op, bias, cout);
  const stride = triple(op, 'stride', options.stride, 1, 1);
  const padding = triple(op, 'padding', options.padding, 0, 0);
  const dilation = triple(op, 'dilation', options.dilation, 1, 1);
  const kernel = weight.shape.slice(2) as [number, number, number];
  const xDims = x.shape.slice(2) as [number, number, number];
  const yDims = xDims.map((size, i) => convOutSize(op, i, size, kernel[i], stride[i], padding[i], dilation[i])) as [
    number,
    number,
    number,
  ];
  const geom: ConvGeometry = { n, cx: cin, cy: cout, groups, xDims, yDims, kernel, stride, padding, dilation };
  const choice = options.kernel ?? 'auto';
  const gatherChoice: GatherChoice = choice === 'direct' ? 'gather' : choice;
  const xd = dense(x);
  const wd = dense(weight);
  const bd = bias ? dense(bias) : null;
  const out = applyDirect(op, geom, xd, wd, bd, choice);
  release(xd, x);
  release(wd, weight);
  if (bd && bias) release(bd, bias);
  recordConv(op, geom, x, weight, bias ?? null, out, choice, gatherChoice);
  return out;
}

/**
 * 3D transposed convolution (the adjoint of conv3d), PyTorch semantics.
 * x (N, Cin, D, H, W), weight (Cin, Cout/groups, kD, kH, kW), bias (Cout) → (N, Cout, D', H', W') with
 * D' = (D − 1)·stride − 2·padding + dilation·(kD − 1) + outputPadding + 1 (likewise H', W').
 */
export function convTranspose3d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose3dOptions = {},
): Tensor {
  const op = 'convTranspose3d';
  checkRanks(op, x, weight, bias);
  const groups = options.groups ?? 1;
  const [n, cin] = x.shape;
  if (weight.shape[0] !== cin) {
    throw new ShapeError(
      `${op}: weight ${fmtShape(weight.shape)} has ${weight.shape[0]} input channels but the input ${fmtShape(x.shape)} has ${cin} — the weight layout is (Cin, Cout/groups, kD, kH, kW), as in PyTorch`,
    );
  }
  const cout = weight.shape[1] * groups;
  checkGroups(op, groups, cin, cout);
  checkBias(op, bias, cout);
  const stride = triple(op, 'stride', options.stride, 1, 1);
  const padding = triple(op, 'padding', options.padding, 0, 0);
  const dilation = triple(op, 'dilation', options.dilation, 1, 1);
  const outputPadding = triple(op, 'outputPadding', options.outputPadding, 0, 0);
  const kernel = weight.shape.slice(2) as [number, number, number];
  const yDims = x.shape.slice(2) as [number, number, number];
  const xDims = yDims.map((size, i) => {
    if (outputPadding[i] >= Math.max(stride[i], dilation[i])) {
      throw new ShapeError(
        `${op}: outputPadding ${outputPadding[i]} along ${AXES[i]} must be smaller than the stride (${stride[i]}) or the dilation (${dilation[i]})`,
      );
    }
    const out = (size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1;
    if (out < 1) {
      throw new ShapeError(
        `${op}: output size along ${AXES[i]} would be ${out} for input ${fmtShape(x.shape)}, kernel ${kernel[i]}, stride ${stride[i]}, padding ${padding[i]} — reduce the padding`,
      );
    }
    return out;
  }) as [number, number, number];
  const geom: ConvGeometry = { n, cx: cout, cy: cin, groups, xDims, yDims, kernel, stride, padding, dilation };
  const choice = options.kernel ?? 'auto';
  const directChoice: DirectChoice =
    choice === 'gather' || choice === 'nonoverlap' ? (choice === 'gather' ? 'direct' : 'auto') : choice;
  const xd = dense(x);
  const wd = dense(weight);
  const bd = bias ? dense(bias) : null;
  const out = applyGather(op, geom, xd, wd, bd, choice);
  release(xd, x);
  release(wd, weight);
  if (bd && bias) release(bd, bias);
  recordConv(op, geom, x, weight, bias ?? null, out, directChoice, choice);
  return out;
}
