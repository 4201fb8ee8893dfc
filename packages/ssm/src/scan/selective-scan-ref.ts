/**
 * `selectiveScanRef`: the selective scan composed from plain @mim/tensor ops, one step per time index (the
 * structure of mamba_ssm's `selective_scan_ref`). Same signature and semantics as `selectiveScan`; it is the
 * readable definition, the autograd cross-check of the fused kernels, and the "composite" peer of the benchmark.
 * Cost: about eight small kernels per time step, and autograd keeps O(batch·dim·N) per step.
 */
import {
  add,
  concat,
  exp,
  mul,
  narrow,
  reshape,
  silu,
  softplus,
  sum,
  type Tensor,
  tidy,
  transpose,
  zeros,
} from '@mim/tensor';
import { type SelectiveScanOptions, type SelectiveScanResult, scanShapes } from './selective-scan.js';

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
      const dtT = narrow(dt, 3, t, 1); // (batch, G, P, 1)
      const decay = exp(mul(dtT, A3)); // (batch, G, P, N)
      const bT = transpose(narrow(B4, 3, t, 1), 2, 3); // (batch, G, 1, N)
      const cT = transpose(narrow(C4, 3, t, 1), 2, 3);
      const input = mul(mul(dtT, narrow(u4, 3, t, 1)), bT);
      const next = previous ? add(mul(decay, previous), input) : add(mul(decay, zeros(input.shape)), input);
      return [next, sum(mul(next, cT), 3, true)];
    });
    previous?.dispose();
    h = next;
    ys.push(y);
  }
  const out = tidy(() => {
    let y = len > 0 ? reshape(concat(ys, 3), [batch, dim, len]) : zeros([batch, dim, len]);
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
