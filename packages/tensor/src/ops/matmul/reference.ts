/**
 * Float64 reference for matmul (torch.matmul semantics, row-major inputs). Test-only.
 */

export interface MatmulRefOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

export interface RefResult {
  data: Float64Array;
  shape: number[];
}

const prod = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Element offset of batch index `flat` (over `batch`) inside an operand with batch dims `own`. */
function batchOffset(flat: number, batch: number[], own: readonly number[], matrixSize: number): number {
  const ownStrides = stridesOf(own).map((s) => s * matrixSize);
  let offset = 0;
  let rest = flat;
  for (let d = batch.length - 1; d >= 0; d--) {
    const coord = rest % batch[d];
    rest = Math.floor(rest / batch[d]);
    const od = d - (batch.length - own.length);
    if (od >= 0 && own[od] !== 1) offset += coord * ownStrides[od];
  }
  return offset;
}

/**
 * a: (…, M, K) or (…, K, M) with transposeA; b: (…, K, N) or (…, N, K) with transposeB; 1-D operands promoted
 * and squeezed like torch.matmul. Returns the row-major result and its shape.
 */
export function matmulRef(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  options: MatmulRefOptions = {},
): RefResult {
  const as = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const bs = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const tA = aShape.length > 1 && !!options.transposeA;
  const tB = bShape.length > 1 && !!options.transposeB;
  const ra = as.length;
  const rb = bs.length;
  const M = tA ? as[ra - 1] : as[ra - 2];
  const K = tA ? as[ra - 2] : as[ra - 1];
  const Kb = tB ? bs[rb - 1] : bs[rb - 2];
  const N = tB ? bs[rb - 2] : bs[rb - 1];
  if (K !== Kb) throw new Error(`matmulRef: inner dims ${K} and ${Kb} differ`);
  const batchA = as.slice(0, -2);
  const batchB = bs.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1;
    const db = batchB[batchB.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`matmulRef: batch dims ${da} and ${db} do not broadcast`);
    batch.push(da === 1 ? db : da);
  }
  const count = prod(batch);
  const out = new Float64Array(count * M * N);
  for (let z = 0; z < count; z++) {
    const oa = batchOffset(z, batch, batchA, M * K);
    const ob = batchOffset(z, batch, batchB, K * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[oa + (tA ? k * M + m : m * K + k)];
          const bv = b[ob + (tB ? n * K + k : k * N + n)];
          s += av * bv;
        }
        out[(z * M + m) * N + n] = s;
      }
    }
  }
  const shape = [...batch, M, N];
  if (bShape.length === 1) shape.pop();
  if (aShape.length === 1) shape.splice(shape.length - (bShape.length === 1 ? 1 : 2), 1);
  return { data: out, shape };
}

/**
 * Analytic gradients of Σ matmulRef(a, b) ⊙ g: dA = g·op(B)ᵀ and dB = op(A)ᵀ·g (transposed back for
 * transposed operands), summed over broadcast batch dims. Computed element by element from the definition.
 */
export function matmulBackwardRef(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  g: ArrayLike<number>,
  options: MatmulRefOptions = {},
): [Float64Array, Float64Array] {
  const as = aShape.length === 1 ? [1, aShape[0]] : [...aShape];
  const bs = bShape.length === 1 ? [bShape[0], 1] : [...bShape];
  const tA = aShape.length > 1 && !!options.transposeA;
  const tB = bShape.length > 1 && !!options.transposeB;
  const M = tA ? as[as.length - 1] : as[as.length - 2];
  const K = tA ? as[as.length - 2] : as[as.length - 1];
  const N = tB ? bs[bs.length - 2] : bs[bs.length - 1];
  const batchA = as.slice(0, -2);
  const batchB = bs.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = batchA[batchA.length - rank + i] ?? 1;
    const db = batchB[batchB.length - rank + i] ?? 1;
    batch.push(da === 1 ? db : da);
  }
  const ga = new Float64Array(prod(aShape));
  const gb = new Float64Array(prod(bShape));
  const count = prod(batch);
  for (let z = 0; z < count; z++) {
    const oa = batchOffset(z, batch, batchA, M * K);
    const ob = batchOffset(z, batch, batchB, K * N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const gv = g[(z * M + m) * N + n];
        for (let k = 0; k < K; k++) {
          const ia = oa + (tA ? k * M + m : m * K + k);
          const ib = ob + (tB ? n * K + k : k * N + n);
          ga[ia] += gv * b[ib];
          gb[ib] += gv * a[ia];
        }
      }
    }
  }
  return [ga, gb];
}
