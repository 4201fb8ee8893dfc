import { noGrad } from '../autograd/grad-mode.js';
import { full } from '../ops/creation.js';
import { mapElementwise } from '../ops/elementwise/launcher.js';
import { square } from '../ops/elementwise/unary.js';
import { stack } from '../ops/movement/stack.js';
import { sum } from '../ops/reduce/reduce.js';
import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';

/**
 * Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_ with the 2-norm): scales every gradient by
 * min(1, maxNorm / (‖g‖ + 1e-6)). Everything stays on the GPU (the coefficient is a tensor); returns the total
 * norm as a one-element tensor that the caller owns. Gradients are replaced by scaled copies (they may share
 * storage with each other, so they are never scaled in place).
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  return noGrad(() => {
    const withGrad = [...params].filter((p) => p.grad);
    if (withGrad.length === 0) return keep(full([], 0));
    const squares = withGrad.map((p) => {
      const s2 = square(p.grad!);
      const total = sum(s2);
      s2.dispose();
      return total;
    });
    const stacked = stack(squares.length ? squares : [], 0);
    for (const s of squares) s.dispose();
    const total = sum(stacked);
    stacked.dispose();
    const norm = mapElementwise({
      name: 'clip_norm',
      inputs: [total],
      source: (t) => `fn op(x: ${t.ty('f32')}) -> ${t.ty('f32')} { return sqrt(x); }`,
    });
    total.dispose();
    for (const p of withGrad) {
      const scaled = mapElementwise({
        name: 'clip_scale',
        inputs: [p.grad!, norm, maxNorm],
        source: (t) =>
          `fn op(g: ${t.ty('f32')}, n: ${t.ty('f32')}, m: ${t.ty('f32')}) -> ${t.ty('f32')} { return g * min(${t.ty('f32')}(1.0), m / (n + ${t.ty('f32')}(1e-6))); }`,
      });
      p.grad!.dispose();
      p.grad = keep(scaled);
    }
    return keep(norm);
  });
}
