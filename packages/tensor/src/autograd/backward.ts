/**
 * Reverse-mode autodiff: visits the graph below `root` in reverse topological order, calls each node's rule
 * once with the summed gradients of its outputs, and accumulates leaf gradients into `.grad`.
 */

import { onesLike } from '../ops/creation.js';
import { add } from '../ops/elementwise/binary.js';
import { fmtShape, MimError } from '../runtime/errors.js';
import { keep, scope } from '../scope.js';
import { sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { noGrad } from './grad-mode.js';
import type { Node } from './node.js';

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

function topologicalOrder(root: Node): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>();
  const stack: [Node, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next < node.edges.length) {
      top[1]++;
      const child = node.edges[next]?.node;
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

function accumulateLeaf(leaf: Tensor, grad: Tensor): void {
  if (leaf.isDisposed) return;
  if (leaf.grad) {
    const sum = add(leaf.grad, grad);
    leaf.grad.dispose();
    leaf.grad = keep(sum);
  } else {
    // A view of its own: the same gradient tensor may reach several leaves (e.g. both inputs of add).
    leaf.grad = keep(grad.detach());
  }
}

export function backward(root: Tensor, gradOutput?: Tensor, options: BackwardOptions = {}): void {
  root.storageFor('backward');
  if (!root.requiresGrad) {
    throw new MimError(
      `backward: the tensor ${fmtShape(root.shape)} does not require grad (no input had requiresGrad)`,
    );
  }
  if (gradOutput && !sameShape(gradOutput.shape, root.shape)) {
    throw new MimError(
      `backward: gradOutput ${fmtShape(gradOutput.shape)} must match the output ${fmtShape(root.shape)}`,
    );
  }
  if (!gradOutput && root.size !== 1) {
    throw new MimError(
      `backward: the output has shape ${fmtShape(root.shape)}; pass gradOutput for non-scalar outputs`,
    );
  }
  using _backwardScope = scope(); // frees every intermediate gradient at the end
  noGrad(() => {
    const seed = gradOutput ?? onesLike(root);
    if (!root.gradFn) {
      accumulateLeaf(root, seed);
      return;
    }
    const order = topologicalOrder(root.gradFn);
    // How many pending slots hold each gradient tensor (a rule may pass the same tensor to several inputs).
    const holders = new Map<Tensor, number>();
    const hold = (t: Tensor) => holders.set(t, (holders.get(t) ?? 0) + 1);
    const release = (t: Tensor) => {
      const count = (holders.get(t) ?? 0) - 1;
      holders.set(t, count);
      if (count <= 0 && t !== gradOutput) t.dispose();
    };
    hold(seed);
    const pending = new Map<Node, (Tensor | null)[]>();
    pending.set(
      root.gradFn,
      root.gradFn.outputShapes.map((_, i) => (i === root.outputIndex ? seed : null)),
    );
    for (const node of order) {
      const grads = pending.get(node);
      pending.delete(node);
      if (!grads || grads.every((g) => g === null)) continue;
      if (node.consumed) {
        throw new MimError(
          `backward: the graph through "${node.name}" was already back-propagated and its saved tensors freed; pass { retainGraph: true } to the first backward()`,
        );
      }
      const inputGrads = node.rule(
        grads,
        node.savedTensors,
        node.edges.map((edge) => edge !== null),
      );
      node.edges.forEach((edge, i) => {
        const g = inputGrads[i];
        if (!edge || !g) return;
        if (!sameShape(g.shape, edge.shape)) {
          throw new MimError(
            `backward of "${node.name}": gradient for input ${i} has shape ${fmtShape(g.shape)}, expected ${fmtShape(edge.shape)}`,
          );
        }
        if (edge.leaf) {
          accumulateLeaf(edge.leaf, g);
          return;
        }
        if (!edge.node) return;
        let slot = pending.get(edge.node);
        if (!slot) pending.set(edge.node, (slot = edge.node.outputShapes.map(() => null)));
        const previous = slot[edge.index];
        const next = previous ? add(previous, g) : g;
        hold(next);
        slot[edge.index] = next;
        if (previous) release(previous);
      });
      // This node's incoming gradients are consumed: free them now (not at the end of backward), so long
      // chains of ops keep only the gradients still waiting for their node.
      for (const g of grads) if (g) release(g);
      if (!options.retainGraph) {
        node.freeSaved();
        node.consumed = true;
      }
    }
  });
}
