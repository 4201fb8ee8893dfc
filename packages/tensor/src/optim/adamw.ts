import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { runFusedUpdate } from './fused.js';
import { type NamedParameters, Optimizer, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (torch default 0.01). */
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter) exactly as torch.optim.AdamW: p ← p·(1 − lr·wd); m, v moments; bias corrections;
 * p ← p − (lr / bc1) · m / (√v / √bc2 + eps). One fused kernel per parameter tensor.
 */
export class AdamW extends Optimizer {
  betas: [number, number];
  eps: number;

  constructor(params: NamedParameters | Tensor[] | ParamGroupSpec[] | Module, options: AdamWOptions = {}) {
    super(params, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0.01 });
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
  }

  protected update(p: Tensor, g: Tensor, group: ParamGroup): void {
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    runFusedUpdate({
      name: 'adamw',
      inputs: [g],
      inputNames: ['g'],
      inout: [p, this.stateOf(p, 'exp_avg'), this.stateOf(p, 'exp_avg_sq')],
      inoutNames: ['p', 'm', 'v'],
      scalars: [
        ['lr', group.lr],
        ['decay', 1 - group.lr * group.weightDecay],
        ['b1', b1],
        ['b2', b2],
        ['step_size', group.lr / (1 - b1 ** t)],
        ['inv_sqrt_bc2', 1 / Math.sqrt(1 - b2 ** t)],
        ['eps', this.eps],
      ],
      body: `p = p * h.decay;
  m = h.b1 * m + (1.0 - h.b1) * g;
  v = h.b2 * v + (1.0 - h.b2) * g * g;
  p = p - h.step_size * m / (sqrt(v) * h.inv_sqrt_bc2 + h.eps);`,
    });
  }

  protected hyper(): Record<string, unknown> {
    return { type: 'AdamW', betas: this.betas, eps: this.eps };
  }

  protected setHyper(hyper: Record<string, unknown>): void {
    this.betas = hyper.betas as [number, number];
    this.eps = hyper.eps as number;
  }
}
