/**
 * A node of the autograd graph: the backward rule of one op application, the tensors it saved, and edges to
 * the nodes (or leaf tensors) that produced its inputs. Nodes are reference counted by the tensors they
 * produced and by the nodes that consume them, so a graph that is never back-propagated is still freed
 * when its tensors are disposed.
 */
import type { Tensor } from '../tensor.js';

/**
 * Maps the gradients of the outputs (null: output unused) to gradients of the inputs (null: none).
 * `needsInputGrad[i]` says whether input i wants a gradient; use it instead of `input.requiresGrad`, which is
 * false once an input (e.g. an intermediate view) has been disposed.
 */
export type BackwardRule = (
  grads: (Tensor | null)[],
  saved: Tensor[],
  needsInputGrad: boolean[],
) => (Tensor | null | undefined)[];

export interface Edge {
  /** The node that produced this input, or null for a leaf. */
  node: Node | null;
  /** Which output of `node`. */
  index: number;
  /** The leaf tensor to accumulate `.grad` into (inputs that require grad but have no node). */
  leaf: Tensor | null;
  shape: readonly number[];
}

let nextId = 1;

export class Node {
  readonly id = nextId++;
  private refs = 0;
  /** True once backward has run and freed the saved tensors. */
  consumed = false;

  constructor(
    readonly name: string,
    readonly edges: (Edge | null)[],
    readonly rule: BackwardRule,
    private saved: Tensor[],
    readonly outputShapes: (readonly number[])[],
  ) {
    for (const edge of edges) edge?.node?.retain();
  }

  get savedTensors(): Tensor[] {
    return this.saved;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const edge of this.edges) edge?.node?.release();
  }

  /** Frees the saved tensors (after backward, unless the graph is retained). */
  freeSaved(): void {
    for (const tensor of this.saved) tensor.dispose();
    this.saved = [];
  }
}
