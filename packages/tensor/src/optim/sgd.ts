import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { runFusedUpdate } from './fused.js';
import { type NamedParameters, Optimizer, type ParamGroup, type ParamGroupSpec } from './optimizer.js';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient (torch.optim.SGD semantics). */
  weightDecay?: number;
}

/** SGD with momentum, dampening, Nesterov and weight decay, matching torch.optim.SGD. */
export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  nesterov: boolean;

  constructor(params: NamedParameters | Tensor[] | ParamGroupSpec[] | Module, options: SGDOptions = {}) {
    super(params, { lr: options.lr ?? 1e-3, weightDecay: options.weightDecay ?? 0 });
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
  }

  protected update(p: Tensor, g: Tensor, group: ParamGroup): void {
    const scalars: [string, number][] = [
      ['lr', group.lr],
      ['wd', group.weightDecay],
      ['momentum', this.momentum],
      ['dampening', this.dampening],
    ];
    if (this.momentum === 0) {
      runFusedUpdate({
        name: 'sgd',
        inputs: [g],
        inputNames: ['g'],
        inout: [p],
        inoutNames: ['p'],
        scalars,
        body: 'p = p - h.lr * (g + h.wd * p);',
      });
      return;
    }
    // torch initialises the momentum buffer with the first gradient (no dampening on step 1).
    const first = !this.state.get(p)?.has('momentum_buffer');
    runFusedUpdate({
      name: 'sgd_momentum',
      inputs: [g],
      inputNames: ['g'],
      inout: [p, this.stateOf(p, 'momentum_buffer')],
      inoutNames: ['p', 'buf'],
      scalars: [...scalars, ['first', first ? 1 : 0]],
      body: `let d = g + h.wd * p;
  buf = select(h.momentum * buf + (1.0 - h.dampening) * d, d, h.first > 0.5);
  ${this.nesterov ? 'p = p - h.lr * (d + h.momentum * buf);' : 'p = p - h.lr * buf;'}`,
    });
  }

  protected hyper(): Record<string, unknown> {
    return { type: 'SGD', momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov };
  }

  protected setHyper(hyper: Record<string, unknown>): void {
    this.momentum = hyper.momentum as number;
    this.dampening = hyper.dampening as number;
    this.nesterov = hyper.nesterov as boolean;
  }
}
