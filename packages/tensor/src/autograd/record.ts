import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { type BackwardRule, type Edge, Node } from './node.js';

/** True when an op applied to these inputs must record a backward rule. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t?.requiresGrad) return true;
  return false;
}

function edgeOf(input: Tensor | null | undefined): Edge | null {
  if (!input?.requiresGrad) return null;
  if (input.gradFn) return { node: input.gradFn, index: input.outputIndex, leaf: null, shape: input.shape };
  return { node: null, index: 0, leaf: input, shape: input.shape };
}

/**
 * Records the backward rule of an op application. `saved` tensors are retained (as detached views, outside
 * every scope) until backward has run or the graph is freed, and handed to `rule` in the same order. The rule
 * returns one gradient per input, shaped like that input (null where the input needs none).
 * Does nothing when grad mode is off or no input requires grad.
 */
export function recordOp(
  name: string,
  inputs: readonly (Tensor | null | undefined)[],
  outputs: readonly Tensor[],
  rule: BackwardRule,
  saved: readonly Tensor[] = [],
): void {
  if (!needsGrad(...inputs)) return;
  // Only f32 outputs carry gradients (and keep the node alive); without one the node could never be freed.
  if (!outputs.some((out) => out.dtype === 'f32')) return;
  const retained = saved.map((t) => keep(t.detach()));
  const node = new Node(
    name,
    inputs.map(edgeOf),
    rule,
    retained,
    outputs.map((t) => t.shape),
  );
  outputs.forEach((out, index) => {
    if (out.dtype !== 'f32') return;
    out.gradFn = node;
    out.outputIndex = index;
    node.retain();
  });
}
