/**
 * Bottom-up sparsity for the HyMamba encoder (SparK / MambaMIM): one visibility mask per resolution, all
 * nearest-neighbour upsamplings of the deepest token grid's mask. Sparse ops run densely and then zero the
 * masked voxels (`sparse`), so masked voxels hold exactly 0 everywhere in the CNN.
 */
import { cast, contiguous, expand, gt, keep, mul, reshape, type Tensor, tensor, tidy } from '@mim/tensor';

/** Per-resolution masks (B, 1, s, s, s) f32 (1 = visible), built lazily from the deepest grid's flags. */
export class SparseMasks {
  private readonly cache = new Map<number, Tensor>();
  private readonly conditions = new Map<number, Tensor>();
  readonly grid: number;

  /** visible: (B·f³) flags in raster order (1 = visible); f = grid. */
  constructor(
    readonly visible: Uint8Array,
    readonly batch: number,
    grid: number,
  ) {
    this.grid = grid;
    if (visible.length !== batch * grid ** 3) {
      throw new Error(`SparseMasks: ${visible.length} flags for batch ${batch} and grid ${grid}³`);
    }
  }

  /** The mask at grid size `size` (a multiple of the token grid): (B, 1, size, size, size) f32. */
  at(size: number): Tensor {
    const cached = this.cache.get(size);
    if (cached) return cached;
    const f = this.grid;
    const r = size / f;
    if (!Number.isInteger(r)) throw new Error(`SparseMasks: size ${size} is not a multiple of the grid ${f}`);
    const base = tensor(Float32Array.from(this.visible), [this.batch, 1, f, 1, f, 1, f, 1]);
    const out = tidy(() =>
      reshape(contiguous(expand(base, [this.batch, 1, f, r, f, r, f, r])), [this.batch, 1, size, size, size]),
    );
    base.dispose();
    keep(out); // cached across calls: survives the caller's tidy/scope
    this.cache.set(size, out);
    return out;
  }

  /** The mask at `size` as a u32 condition for `where`. */
  condition(size: number): Tensor {
    const cached = this.conditions.get(size);
    if (cached) return cached;
    const out = keep(tidy(() => cast(gt(this.at(size), 0.5), 'u32')));
    this.conditions.set(size, out);
    return out;
  }

  /** The deepest-grid flags as a (B, L) u32 tensor (for TOKI). */
  tokens(): Tensor {
    return tensor(Uint32Array.from(this.visible), [this.batch, this.grid ** 3], { dtype: 'u32' });
  }

  dispose(): void {
    for (const t of [...this.cache.values(), ...this.conditions.values()]) t.dispose();
    this.cache.clear();
    this.conditions.clear();
  }
}

/** x ⊙ mask when a mask is given (the sparse-op rule: run densely, zero the masked voxels), else x. */
export function sparse(x: Tensor, mask: Tensor | null): Tensor {
  return mask ? mul(x, mask) : x;
}
