/**
 * `selectiveScanRef`: the selective scan composed from plain @mim/tensor ops, one step per time index (the
 * structure of mamba_ssm's `selective_scan_ref`). Same signature and semantics as `selectiveScan`; it is the
 * readable definition, the autograd cross-check of the fused kernels, and the "composite" peer of the benchmark.
 * Cost: about a dozen small kernels per time step, and autograd keeps O(batch·dim·N) per step; the backward of
 * each step's indexSelect is a full-size (batch, dim, L) gradient that backward() holds until it returns, so
 * forward + backward peaks at O(batch·dim·L²) memory (0.85 GB at b2-d768-L216, 13.9 GB at L = 1024).
 */
import {
  add,
  concat,
  exp,
  indexSelect,
  mul,
  reshape,
  silu,
  softplus,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  zeros,
} from '@mim/tensor';
import { type SelectiveScanOptions, type SelectiveScanResult, scanShapes } from './selective-scan.js';

/**
 * concat() of many pieces as a balanced tree of two-piece concats: the kernels of concat (and of its backward)
 * bake the piece offsets, so this needs O(log L) distinct pipelines instead of L.
 */
function pairwiseConcat(pieces: Tensor[], axis: number): Tensor {
  let level = pieces;
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(concat([level[i], level[i + 1]], axis));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    if (level !== pieces) for (let i = 0; i < level.length - (level.length % 2); i++) level[i].dispose();
    level = next;
  }
  return level[0];
}

/**
 * Reference selective scan. u, delta: (batch, dim, L); A: (dim, N); B, C: (batch, N, L) or (batch, G, N, L);
 * D, deltaBias: (dim); z: (batch, dim, L). Returns out (batch, dim, L), or `{ out, lastState }`.
 * `chunkSize` is ignored.
 */
export function selectiveScanRef(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveScanOptions & { returnLastState: true },
): SelectiveScanResult;
export function selectiveScanRef(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options?: SelectiveScanOptions,
): Tensor;
export function selectiveScanRef(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveScanOptions = {},
): Tensor | SelectiveScanResult {
  const s = scanShapes('selectiveScanRef', u, delta, A, B, C, options);
  const { batch, dim, len, state, groups } = s;
  const perGroup = dim / groups;
  const [dt, u4, A3, B4, C4] = tidy(() => {
    let dt = options.deltaBias ? add(delta, reshape(options.deltaBias, [dim, 1])) : delta;
    if (options.deltaSoftplus) dt = softplus(dt);
    const grouped = (t: Tensor) => reshape(t, [batch, groups, state, len]);
    return [
      reshape(dt, [batch, groups, perGroup, len]),
      reshape(u, [batch, groups, perGroup, len]),
      reshape(A, [groups, perGroup, state]),
      grouped(B),
      grouped(C),
    ];
  });
  let h: Tensor | null = options.initialState ? reshape(options.initialState, [batch, groups, perGroup, state]) : null;
  const ys: Tensor[] = [];
  for (let t = 0; t < len; t++) {
    const previous = h;
    const [next, y] = tidy(() => {
      // indexSelect reads the step from a buffer, so every step reuses the same pipelines (a narrow() view
      // would bake its offset into each kernel and compile new ones per step).
      const step = tensor([t], [1], { dtype: 'i32' });
      const at = (x: Tensor) => indexSelect(x, 3, step);
      const dtT = at(dt); // (batch, G, P, 1)
      const decay = exp(mul(dtT, A3)); // (batch, G, P, N)
      const bT = transpose(at(B4), 2, 3); // (batch, G, 1, N)
      const cT = transpose(at(C4), 2, 3);
      const input = mul(mul(dtT, at(u4)), bT);
      const next = previous ? add(mul(decay, previous), input) : add(mul(decay, zeros(input.shape)), input);
      return [next, sum(mul(next, cT), 3, true)];
    });
    previous?.dispose();
    h = next;
    ys.push(y);
  }
  const out = tidy(() => {
    let y = len > 0 ? reshape(pairwiseConcat(ys, 3), [batch, dim, len]) : zeros([batch, dim, len]);
    if (options.D) y = add(y, mul(reshape(options.D, [dim, 1]), u));
    if (options.z) y = mul(y, silu(options.z));
    return y;
  });
  for (const t of [...ys, dt, u4, A3, B4, C4]) t.dispose();
  if (!options.returnLastState) {
    h?.dispose();
    return out;
  }
  const lastState = h ? reshape(h, [batch, dim, state]) : zeros([batch, dim, state]);
  if (h && lastState !== h) h.dispose();
  return { out, lastState };
}
