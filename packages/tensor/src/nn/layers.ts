/**
 * Basic layers: Linear, activations, containers, dropout. Parameter names equal PyTorch's.
 * Convolution and normalisation layers live in conv.ts and norm.ts.
 */

import { dropout, dropPath } from '../ops/dropout/dropout.js';
import { add } from '../ops/elementwise/binary.js';
import { gelu, relu, silu } from '../ops/elementwise/unary.js';
import { matmul } from '../ops/matmul/matmul.js';
import { contiguous } from '../ops/movement/copy.js';
import { empty } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { uniform } from './init.js';
import { Module } from './module.js';

/** y = x·Wᵀ + b over the last axis. weight: (out, in), bias: (out). torch.nn.Linear's default init. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures], 'f32', 'Linear'));
    this.bias =
      options.bias === false
        ? this.registerParameter('bias', null)
        : this.registerParameter('bias', empty([outFeatures], 'f32', 'Linear'));
    this.resetParameters();
  }

  /** kaiming_uniform(a=√5) for the weight, U(±1/√in) for the bias — what torch does. */
  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    uniform(this.weight, -bound, bound);
    if (this.bias) uniform(this.bias, -bound, bound);
  }

  /** x: (…, in) → (…, out). */
  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight, { transposeB: true });
    if (!this.bias) return y;
    const out = add(y, this.bias);
    y.dispose();
    return out;
  }
}

export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return contiguous(x);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/** Stochastic depth on a residual branch (timm DropPath). */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropPath(x, this.p, this.training);
  }
}

/** A module whose forward takes and returns one tensor. */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

/** Children named "0", "1", … (like torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    return this.items[index];
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Applies its children in order; intermediates are freed as soon as the next layer has consumed them. */
export class Sequential extends ModuleList<UnaryModule> {
  forward(x: Tensor): Tensor {
    let current = x;
    for (const layer of this) {
      const next = layer.forward(current);
      if (current !== x) current.dispose();
      current = next;
    }
    return current === x ? contiguous(x) : current;
  }
}
