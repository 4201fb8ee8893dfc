/**
 * Token sequences on the GPU: feature map ↔ (B, L, C) sequence in raster order, and the gather / scatter of
 * the visible tokens in a serialization order (MambaMIM's Mamba stage). Built on @mim/tensor's `gather`
 * (torch.gather) and `scatterAdd`, so gradients flow: gather's backward scatters into zeros, scatter's
 * gathers back.
 */
import {
  contiguous,
  expand,
  fromTypedArray,
  gather,
  permute,
  reshape,
  scatterAdd,
  type Tensor,
  where,
} from '@mim/tensor';
import { MaskingError } from '../errors.js';
import { cellCount, type GridLike, toGrid } from '../grid.js';
import { type VisibilityMask, visibleTokenIds } from '../serialization.js';

/** (B, C, X, Y, Z) → (B, L, C) with L = X·Y·Z in raster order (`x.flatten(2).transpose(1, 2)`), contiguous. */
export function toTokens(x: Tensor): Tensor {
  if (x.rank !== 5) throw new MaskingError(`toTokens: expected (B, C, X, Y, Z), got rank ${x.rank}`);
  const [B, C, X, Y, Z] = x.shape;
  const flat = reshape(x, [B, C, X * Y * Z]);
  const swapped = permute(flat, [0, 2, 1]);
  const out = contiguous(swapped);
  flat.dispose();
  swapped.dispose();
  return out;
}

/** (B, L, C) → (B, C, X, Y, Z), the inverse of `toTokens` on `grid`. */
export function fromTokens(seq: Tensor, grid: GridLike): Tensor {
  const g = toGrid(grid, 'fromTokens');
  if (seq.rank !== 3 || seq.shape[1] !== cellCount(g)) {
    throw new MaskingError(`fromTokens: expected (B, ${cellCount(g)}, C) for grid [${g}], got [${seq.shape}]`);
  }
  const [B, , C] = seq.shape;
  const swapped = permute(seq, [0, 2, 1]);
  const dense = contiguous(swapped);
  const out = reshape(dense, [B, C, ...g]);
  swapped.dispose();
  dense.dispose();
  return out;
}

function indexTensor(fn: string, ids: Int32Array, batch: number, rows: number, channels: number) {
  const n = ids.length / batch;
  if (!Number.isInteger(n)) throw new MaskingError(`${fn}: ${ids.length} ids do not split into ${batch} samples`);
  for (let b = 0; b < batch; b++) {
    const seen = new Uint8Array(rows);
    for (let s = 0; s < n; s++) {
      const t = ids[b * n + s];
      if (!(t >= 0 && t < rows) || seen[t]) {
        throw new MaskingError(`${fn}: ids of sample ${b} must be distinct indices in [0, ${rows}); got ${t}`);
      }
      seen[t] = 1;
    }
  }
  const column = fromTypedArray(ids, [batch, n, 1]);
  const index = expand(column, [batch, n, channels]);
  column.dispose();
  return { index, n };
}

/** out[b, s, :] = seq[b, ids[b, s], :]. Shapes: seq (B, L, C), ids (B·N) i32 → (B, N, C). Differentiable. */
export function gatherTokens(seq: Tensor, ids: Int32Array): Tensor {
  if (seq.rank !== 3) throw new MaskingError(`gatherTokens: expected seq (B, L, C), got [${seq.shape}]`);
  const [B, L, C] = seq.shape;
  const { index } = indexTensor('gatherTokens', ids, B, L, C);
  const out = gather(seq, 1, index);
  index.dispose();
  return out;
}

/**
 * Writes tokens back to rows `ids` of a (B, L, C) sequence; the other rows get `fill` (a number, or a tensor
 * broadcastable to (B, L, C) such as a (1, 1, C) mask token, which then receives the gradient of every
 * unfilled row). Shapes: tokens (B, N, C), ids (B·N) → (B, L, C). Differentiable in tokens and fill.
 */
export function scatterTokens(tokens: Tensor, ids: Int32Array, length: number, fill: number | Tensor = 0): Tensor {
  if (tokens.rank !== 3) throw new MaskingError(`scatterTokens: expected tokens (B, N, C), got [${tokens.shape}]`);
  const [B, N, C] = tokens.shape;
  if (ids.length !== B * N) throw new MaskingError(`scatterTokens: expected ${B * N} ids (B·N), got ${ids.length}`);
  const { index } = indexTensor('scatterTokens', ids, B, length, C);
  const scattered = scatterAdd(null, 1, index, tokens, { shape: [B, length, C] });
  index.dispose();
  const hit = new Uint32Array(B * length);
  for (let b = 0; b < B; b++) for (let s = 0; s < N; s++) hit[b * length + ids[b * N + s]] = 1;
  const cond = fromTypedArray(hit, [B, length, 1]);
  const out = where(cond, scattered, fill);
  cond.dispose();
  scattered.dispose();
  return out;
}

/** The visible tokens of `mask` in serialization `order`: (B, L, C) → (B, N, C). */
export function gatherVisible(seq: Tensor, mask: VisibilityMask, order: Int32Array): Tensor {
  return gatherTokens(seq, visibleTokenIds(mask, order));
}

/** The inverse of `gatherVisible`: (B, N, C) → (B, L, C) with `fill` at the masked rows. */
export function scatterVisible(
  tokens: Tensor,
  mask: VisibilityMask,
  order: Int32Array,
  fill: number | Tensor = 0,
): Tensor {
  return scatterTokens(tokens, visibleTokenIds(mask, order), cellCount(mask.grid), fill);
}
