import type { Module } from '../nn/module.js';
import { square } from '../ops/elementwise/unary.js';
import { sum } from '../ops/reduce/reduce.js';
import { empty, grid1d, runKernel } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { runFusedUpdate } from './fused.js';
import { type NamedParameters, Optimizer, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

export interface LAMBOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clamp the trust ratio to at most 1 (timm's `trust_clip`). */
  trustClip?: boolean;
}

/**
 * LAMB (You et al. 2019) as in timm / the official MambaMIM code: Adam direction u = m̂/(√v̂ + eps) + wd·p,
 * then p ← p − lr · r · u with the layer-wise trust ratio r = ‖p‖/‖u‖ (1 when either norm is 0).
 * Two fused kernels per tensor and two GPU norm reductions; the ratio never leaves the GPU.
 */
export class LAMB extends Optimizer {
  betas: [number, number];
  eps: number;
  trustClip: boolean;

  constructor(params: NamedParameters | Tensor[] | ParamGroupSpec[] | Module, options: LAMBOptions = {}) {
    super(params, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0.01 });
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-6;
    this.trustClip = options.trustClip ?? false;
  }

  protected update(p: Tensor, g: Tensor, group: ParamGroup): void {
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    const direction = empty(p.shape, 'f32', 'lamb');
    runFusedUpdate({
      name: 'lamb_direction',
      inputs: [g, p],
      inputNames: ['g', 'p'],
      inout: [direction, this.stateOf(p, 'exp_avg'), this.stateOf(p, 'exp_avg_sq')],
      inoutNames: ['u', 'm', 'v'],
      scalars: [
        ['b1', b1],
        ['b2', b2],
        ['inv_bc1', 1 / (1 - b1 ** t)],
        ['inv_bc2', 1 / (1 - b2 ** t)],
        ['eps', this.eps],
        ['wd', group.weightDecay],
      ],
      body: `m = h.b1 * m + (1.0 - h.b1) * g;
  v = h.b2 * v + (1.0 - h.b2) * g * g;
  u = (m * h.inv_bc1) / (sqrt(v * h.inv_bc2) + h.eps) + h.wd * p;`,
    });
    const p2 = square(p);
    const u2 = square(direction);
    const pNorm2 = sum(p2);
    const uNorm2 = sum(u2);
    p2.dispose();
    u2.dispose();
    const n = p.size;
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> pn2: array<f32>;
@group(0) @binding(2) var<storage, read> un2: array<f32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
struct Hyper { lr: f32, pad0: f32, pad1: f32, pad2: f32 }
@group(0) @binding(4) var<uniform> h: Hyper;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let wn = sqrt(pn2[${pNorm2.offset}u]); let un = sqrt(un2[${uNorm2.offset}u]);
  var ratio = select(1.0, wn / un, wn > 0.0 && un > 0.0);
  ${this.trustClip ? 'ratio = min(ratio, 1.0);' : ''}
  p[i + ${p.offset}u] = p[i + ${p.offset}u] - h.lr * ratio * u[i];
}`;
    runKernel('lamb_apply', wgsl, [direction, pNorm2, uNorm2], [p], workgroups, {
      uniform: new Float32Array([group.lr, 0, 0, 0]),
    });
    for (const x of [direction, pNorm2, uNorm2]) x.dispose();
  }

  protected hyper(): Record<string, unknown> {
    return { type: 'LAMB', betas: this.betas, eps: this.eps, trustClip: this.trustClip };
  }

  protected setHyper(hyper: Record<string, unknown>): void {
    this.betas = hyper.betas as [number, number];
    this.eps = hyper.eps as number;
    this.trustClip = hyper.trustClip as boolean;
  }
}
