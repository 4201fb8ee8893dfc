/**
 * tokiRef: TOKI composed from generic @mim/tensor ops (slices, explicit matrix powers by matmul, concat) —
 * the readable twin of the fused kernels, differentiable through ordinary autograd. O(L) small ops, so it is
 * for tests and for checking the fused kernels. The mask is a CPU array (it decides the op structure).
 */
import { add, concat, contiguous, matmul, mul, narrow, reshape, type Tensor, tensor, transpose } from '@mim/tensor';
import type { TokiOptions } from './toki.js';

/**
 * Same contract as `toki`, with `visible` as a CPU array of batch·L flags (1 = visible).
 * features: (batch, C, L), A: (C, C) → (batch, C, L).
 */
export function tokiRef(features: Tensor, visible: ArrayLike<number>, A: Tensor, options: TokiOptions = {}): Tensor {
  const variant = options.variant ?? 'official';
  const [Bt, C, L] = features.shape;
  const eye = new Float32Array(C * C);
  for (let i = 0; i < C; i++) eye[i * C + i] = 1;
  const powers: Tensor[] = [tensor(eye, [C, C])];
  const power = (k: number): Tensor => {
    while (powers.length <= k) powers.push(matmul(powers[powers.length - 1], A));
    return powers[k];
  };
  const samples: Tensor[] = [];
  for (let b = 0; b < Bt; b++) {
    const column = (t: number) => reshape(contiguous(narrow(narrow(features, 0, b, 1), 2, t, 1)), [C, 1]);
    const flags = Array.from({ length: L }, (_, t) => t).filter((t) => visible[b * L + t]);
    const anchors = [...new Set([0, L - 1, ...flags])].sort((x, y) => x - y);
    const T: Tensor[] = new Array(L);
    for (let s = 0; s + 1 < anchors.length; s++) {
      const [a, e] = [anchors[s], anchors[s + 1]];
      const g = e - a;
      const [Fa, Fe] = [column(a), column(e)];
      let running: Tensor | null = null;
      for (let k = 0; k < g; k++) {
        if (variant === 'official') {
          // T[a+k] = Σ_{j≤k} A^{g−1−j} ((1 − α_j) F[a] + α_j F[e]),  α_j = j/(g−1)
          const alpha = g > 1 ? k / (g - 1) : 0;
          const term = matmul(power(g - 1 - k), add(mul(Fa, 1 - alpha), mul(Fe, alpha)));
          running = running ? add(running, term) : term;
        } else {
          // h_k = Σ_{n≤k} A^{k−n} s_n,  s_n = (1 − β_n) F[a] + β_n F[e],  β_n = n/(g+1)
          let h: Tensor | null = null;
          for (let n = 0; n <= k; n++) {
            const beta = n / (g + 1);
            const term = matmul(power(k - n), add(mul(Fa, 1 - beta), mul(Fe, beta)));
            h = h ? add(h, term) : term;
          }
          running = h;
        }
        T[a + k] = running!;
      }
    }
    T[L - 1] = variant === 'official' ? matmul(A, column(L - 1)) : column(L - 1);
    let tokens = concat(T, 1); // (C, L), token q in column q
    // The official code reads the position-major (L, C) buffer back as (C, L).
    if (options.layout === 'official') tokens = reshape(contiguous(transpose(tokens)), [C, L]);
    const columns = Array.from({ length: L }, (_, q) => (visible[b * L + q] ? column(q) : narrow(tokens, 1, q, 1)));
    samples.push(reshape(concat(columns, 1), [1, C, L]));
  }
  return concat(samples, 0);
}
