/**
 * Serialization orders of a 3-D token grid (MambaMIM Table 10) and the gather/scatter of visible tokens to and
 * from a sequence in that order.
 *
 * An order is an Int32Array `order` of length L: `order[s]` is the raster index of the s-th cell visited.
 * - `raster`: `order[s] = s`, axis 0 slowest (PyTorch `flatten(2)`).
 * - `zigzag` (3-D boustrophedon): planes i = 0 … X−1 in turn; inside plane i, rows j ascend when i is even and
 *   descend when i is odd; the rows are counted globally in visiting order r = 0, 1, … and row r runs k
 *   ascending when r is even, descending when r is odd. Every step moves to a face neighbour.
 * - `hilbert`: for X = Y = Z = 2^b a true 3-D Hilbert curve (Skilling's transpose algorithm, "Programming the
 *   Hilbert curve", AIP Conf. Proc. 707, 2004: index → Gray decode → undo excess work, with axis 0 taking the
 *   most significant interleaved bit); for every other size the generalized Hilbert curve "gilbert3d"
 *   (J. Červený, github.com/jakubcerveny/gilbert, BSD-2): recursive splitting of the box along its longest
 *   direction with even-sized halves preferred, which visits face neighbours consecutively for the grids tested
 *   here (cubes 2³…16³, 3³, 5³, 6³, 7³ and mixed boxes; see the tests).
 * - `shuffle`: a seeded uniform permutation (Fisher–Yates with xoshiro128**).
 */
import { MaskingError } from './errors.js';
import { cellCount, type Grid3, type GridLike, rasterIndex, toGrid } from './grid.js';
import { type RandomInput, randomPermutation, toRandomSource } from './random.js';

export type SerializationKind = 'raster' | 'zigzag' | 'hilbert' | 'shuffle';

export function rasterOrder(grid: GridLike): Int32Array {
  const n = cellCount(toGrid(grid, 'rasterOrder'));
  const out = new Int32Array(n);
  for (let s = 0; s < n; s++) out[s] = s;
  return out;
}

export function zigzagOrder(grid: GridLike): Int32Array {
  const g = toGrid(grid, 'zigzagOrder');
  const out = new Int32Array(cellCount(g));
  let s = 0;
  let row = 0;
  for (let i = 0; i < g[0]; i++) {
    for (let jj = 0; jj < g[1]; jj++, row++) {
      const j = i % 2 === 0 ? jj : g[1] - 1 - jj;
      for (let kk = 0; kk < g[2]; kk++) out[s++] = rasterIndex(g, i, j, row % 2 === 0 ? kk : g[2] - 1 - kk);
    }
  }
  return out;
}

/** Skilling: the Hilbert index `d` (3b bits) of a 2^b cube to coordinates (axis 0 first). */
function hilbertIndexToAxes(d: number, bits: number): [number, number, number] {
  const x = [0, 0, 0];
  for (let q = 0; q < bits; q++) {
    for (let a = 0; a < 3; a++) {
      const bit = Math.floor(d / 2 ** (3 * q + 2 - a)) % 2;
      x[a] |= bit << q;
    }
  }
  const top = 1 << bits;
  // Gray decode.
  let t = x[2] >> 1;
  for (let a = 2; a > 0; a--) x[a] ^= x[a - 1];
  x[0] ^= t;
  // Undo excess work.
  for (let q = 2; q < top; q <<= 1) {
    const p = q - 1;
    for (let a = 2; a >= 0; a--) {
      if (x[a] & q) x[0] ^= p;
      else {
        t = (x[0] ^ x[a]) & p;
        x[0] ^= t;
        x[a] ^= t;
      }
    }
  }
  return [x[0], x[1], x[2]];
}

type Vec = [number, number, number];
const sign = (v: number) => (v < 0 ? -1 : v > 0 ? 1 : 0);
const half = (v: Vec): Vec => [Math.floor(v[0] / 2), Math.floor(v[1] / 2), Math.floor(v[2] / 2)];
const plus = (a: Vec, b: Vec): Vec => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const minus = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const negate = (a: Vec): Vec => [-a[0], -a[1], -a[2]];
const length = (v: Vec) => Math.abs(v[0] + v[1] + v[2]);
const unit = (v: Vec): Vec => [sign(v[0]), sign(v[1]), sign(v[2])];

/** gilbert3d's recursion: fills the box at `p` spanned by the axis vectors a (major), b and c. */
function gilbert(p: Vec, a: Vec, b: Vec, c: Vec, visit: (v: Vec) => void): void {
  const w = length(a);
  const h = length(b);
  const d = length(c);
  const da = unit(a);
  const db = unit(b);
  const dc = unit(c);
  const line = (n: number, step: Vec) => {
    let q = p;
    for (let s = 0; s < n; s++, q = plus(q, step)) visit(q);
  };
  if (h === 1 && d === 1) {
    line(w, da);
    return;
  }
  if (w === 1 && d === 1) {
    line(h, db);
    return;
  }
  if (w === 1 && h === 1) {
    line(d, dc);
    return;
  }
  let a2 = half(a);
  let b2 = half(b);
  let c2 = half(c);
  if (length(a2) % 2 === 1 && w > 2) a2 = plus(a2, da);
  if (length(b2) % 2 === 1 && h > 2) b2 = plus(b2, db);
  if (length(c2) % 2 === 1 && d > 2) c2 = plus(c2, dc);
  if (2 * w > 3 * h && 2 * w > 3 * d) {
    // Wide: split along a only.
    gilbert(p, a2, b, c, visit);
    gilbert(plus(p, a2), minus(a, a2), b, c, visit);
  } else if (3 * h > 4 * d) {
    // Do not split along c.
    gilbert(p, b2, c, a2, visit);
    gilbert(plus(p, b2), a, minus(b, b2), c, visit);
    gilbert(plus(plus(p, minus(a, da)), minus(b2, db)), negate(b2), c, negate(minus(a, a2)), visit);
  } else if (3 * d > 4 * h) {
    // Do not split along b.
    gilbert(p, c2, a2, b, visit);
    gilbert(plus(p, c2), a, b, minus(c, c2), visit);
    gilbert(plus(plus(p, minus(a, da)), minus(c2, dc)), negate(c2), negate(minus(a, a2)), b, visit);
  } else {
    // Regular: split along all three.
    gilbert(p, b2, c2, a2, visit);
    gilbert(plus(p, b2), c, a2, minus(b, b2), visit);
    gilbert(plus(plus(p, minus(b2, db)), minus(c, dc)), a, negate(b2), negate(minus(c, c2)), visit);
    gilbert(plus(plus(plus(p, minus(a, da)), b2), minus(c, dc)), negate(c), negate(minus(a, a2)), minus(b, b2), visit);
    gilbert(plus(plus(p, minus(a, da)), minus(b2, db)), negate(b2), c2, negate(minus(a, a2)), visit);
  }
}

/** gilbert3d on the box [origin, origin + size), which must have even sides; starts at `origin`. */
function gilbertBox(origin: Vec, size: Vec, visit: (v: Vec) => void): void {
  const [X, Y, Z] = size;
  const ax: Vec = [X, 0, 0];
  const ay: Vec = [0, Y, 0];
  const az: Vec = [0, 0, Z];
  // The major axis is the longest one, as in gilbert3d.
  if (X >= Y && X >= Z) gilbert(origin, ax, ay, az, visit);
  else if (Y >= X && Y >= Z) gilbert(origin, ay, ax, az, visit);
  else gilbert(origin, az, ax, ay, visit);
}

/** The serpentines of a 2-D rectangle (fixed third coordinate): every start corner × row direction. */
function serpentines(lo: Vec, hi: Vec, u: number, v: number): Vec[][] {
  const out: Vec[][] = [];
  for (const rowsAlongU of [true, false]) {
    const [a, b] = rowsAlongU ? [u, v] : [v, u];
    for (const flipA of [false, true]) {
      for (const flipB of [false, true]) {
        const cells: Vec[] = [];
        const nb = hi[b] - lo[b];
        const na = hi[a] - lo[a];
        for (let r = 0; r < nb; r++) {
          for (let s = 0; s < na; s++) {
            const cell: Vec = [lo[0], lo[1], lo[2]];
            cell[b] = lo[b] + (flipB ? nb - 1 - r : r);
            const along = r % 2 === 0 ? s : na - 1 - s;
            cell[a] = lo[a] + (flipA ? na - 1 - along : along);
            cells.push(cell);
          }
        }
        out.push(cells);
      }
    }
  }
  return out;
}

const adjacent = (p: Vec, q: Vec) => Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]) === 1;

/**
 * Boxes with an odd side: the core [o, size) with o_a = size_a mod 2 has even sides and is filled by gilbert3d
 * from its corner o; the one-cell-thick slabs x = 0, y = 0, z = 0 left over (the "shell") come first, each as a
 * 2-D serpentine, chained so that every junction and the step into the core are face steps. Returns null when
 * no chaining exists (none found for any box up to 16³ in the tests).
 */
function shellThenCore(size: Vec, visit: (v: Vec) => void): boolean {
  const odd: Vec = [size[0] % 2, size[1] % 2, size[2] % 2];
  // Slabs: x = 0 (all y, z); y = 0 (x ≥ ox); z = 0 (x ≥ ox, y ≥ oy). Each is a rectangle with one fixed axis.
  const slabs: Vec[][][] = [];
  for (let axis = 0; axis < 3; axis++) {
    if (!odd[axis]) continue;
    const lo: Vec = [0, 0, 0];
    const hi: Vec = [size[0], size[1], size[2]];
    for (let before = 0; before < axis; before++) lo[before] = odd[before];
    hi[axis] = 1;
    if (hi.some((h, a) => h <= lo[a])) continue;
    const [u, v] = [0, 1, 2].filter((a) => a !== axis);
    slabs.push(serpentines(lo, hi, u, v));
  }
  const core: Vec = [size[0] - odd[0], size[1] - odd[1], size[2] - odd[2]];
  const coreEmpty = core.some((n) => n === 0);
  const start: Vec = [odd[0], odd[1], odd[2]];
  const permutations = [
    [[]],
    [[0]],
    [
      [0, 1],
      [1, 0],
    ],
    [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ],
  ][slabs.length];
  const search = (order: number[], depth: number, chosen: Vec[][]): Vec[][] | null => {
    if (depth === slabs.length) {
      const last = chosen[chosen.length - 1];
      return coreEmpty || adjacent(last[last.length - 1], start) ? chosen : null;
    }
    for (const path of slabs[order[depth]]) {
      if (depth > 0) {
        const previous = chosen[depth - 1];
        if (!adjacent(previous[previous.length - 1], path[0])) continue;
      }
      const found = search(order, depth + 1, [...chosen, path]);
      if (found) return found;
    }
    return null;
  };
  for (const permutation of permutations) {
    const found = search(permutation, 0, []);
    if (!found) continue;
    for (const path of found) for (const cell of path) visit(cell);
    if (!coreEmpty) gilbertBox(start, core, visit);
    return true;
  }
  return false;
}

export function hilbertOrder(grid: GridLike): Int32Array {
  const g = toGrid(grid, 'hilbertOrder');
  const n = cellCount(g);
  const out = new Int32Array(n);
  const bits = Math.log2(g[0]);
  if (g[0] === g[1] && g[1] === g[2] && Number.isInteger(bits)) {
    for (let d = 0; d < n; d++) {
      const [i, j, k] = hilbertIndexToAxes(d, bits);
      out[d] = rasterIndex(g, i, j, k);
    }
    return out;
  }
  let s = 0;
  const visit = (v: Vec) => {
    out[s++] = rasterIndex(g, v[0], v[1], v[2]);
  };
  if (g.every((side) => side % 2 === 0)) gilbertBox([0, 0, 0], [g[0], g[1], g[2]], visit);
  else if (!shellThenCore([g[0], g[1], g[2]], visit)) {
    throw new MaskingError(`hilbertOrder: no face-adjacent generalized Hilbert order found for grid [${g}]`);
  }
  if (s !== n) throw new MaskingError(`hilbertOrder: internal error, visited ${s} of ${n} cells on [${g}]`);
  return out;
}

export function shuffleOrder(grid: GridLike, rng: RandomInput): Int32Array {
  const n = cellCount(toGrid(grid, 'shuffleOrder'));
  return randomPermutation(n, toRandomSource(rng, 'shuffleOrder'));
}

/** The order of `kind` on `grid`; `rng` (a seed or generator) is needed for `'shuffle'`. */
export function serializationOrder(grid: GridLike, kind: SerializationKind, rng?: RandomInput): Int32Array {
  switch (kind) {
    case 'raster':
      return rasterOrder(grid);
    case 'zigzag':
      return zigzagOrder(grid);
    case 'hilbert':
      return hilbertOrder(grid);
    case 'shuffle':
      if (rng === undefined) throw new MaskingError("serializationOrder: 'shuffle' needs a seed or generator");
      return shuffleOrder(grid, rng);
    default:
      throw new MaskingError(
        `serializationOrder: unknown order '${String(kind)}'; use 'raster', 'zigzag', 'hilbert' or 'shuffle'`,
      );
  }
}

/** rank[t] = position of raster cell t in `order` (the inverse permutation). */
export function orderRanks(order: Int32Array): Int32Array {
  const rank = new Int32Array(order.length).fill(-1);
  for (let s = 0; s < order.length; s++) {
    const t = order[s];
    if (!(t >= 0 && t < order.length) || rank[t] !== -1) {
      throw new MaskingError(`orderRanks: the order is not a permutation of 0…${order.length - 1}`);
    }
    rank[t] = s;
  }
  return rank;
}

/** What gathering needs from a mask: its grid, batch and (B, L) visibility. `PatchMask` and `StageMask` fit. */
export interface VisibilityMask {
  grid: Grid3;
  batch: number;
  visible: Uint8Array;
}

/**
 * Raster indices of the visible cells of each sample, listed in the order `order` visits them: (B, N) i32.
 * Every sample must have the same N. With the raster order this is MambaMIM's "visible tokens in raster order".
 */
export function visibleTokenIds(mask: VisibilityMask, order: Int32Array): Int32Array {
  const cells = cellCount(mask.grid);
  if (order.length !== cells) {
    throw new MaskingError(`visibleTokenIds: the order has ${order.length} entries but the grid has ${cells} cells`);
  }
  const rows: number[][] = [];
  for (let b = 0; b < mask.batch; b++) {
    const row: number[] = [];
    for (let s = 0; s < cells; s++) if (mask.visible[b * cells + order[s]]) row.push(order[s]);
    if (rows.length && row.length !== rows[0].length) {
      throw new MaskingError(
        `visibleTokenIds: sample ${b} has ${row.length} visible cells but sample 0 has ${rows[0].length}`,
      );
    }
    rows.push(row);
  }
  return Int32Array.from(rows.flat());
}

function checkIds(fn: string, ids: Int32Array, batch: number, length: number): number {
  const n = ids.length / batch;
  if (!Number.isInteger(n)) throw new MaskingError(`${fn}: ${ids.length} ids do not split into ${batch} samples`);
  for (let b = 0; b < batch; b++) {
    const seen = new Uint8Array(length);
    for (let s = 0; s < n; s++) {
      const t = ids[b * n + s];
      if (!(t >= 0 && t < length) || seen[t]) {
        throw new MaskingError(`${fn}: ids of sample ${b} must be distinct indices in [0, ${length}); got ${t}`);
      }
      seen[t] = 1;
    }
  }
  return n;
}

/**
 * Gathers rows of a (B, L, C) sequence: out[b, s, :] = seq[b, ids[b, s], :], giving (B, N, C) with N = ids/B.
 * With `ids = visibleTokenIds(mask, order)` this is the serialized visible-token sequence of the Mamba stage.
 */
export function gatherTokens(
  seq: Float32Array,
  shape: readonly [number, number, number],
  ids: Int32Array,
): Float32Array {
  const [B, L, C] = shape;
  if (seq.length !== B * L * C) {
    throw new MaskingError(`gatherTokens: ${seq.length} values do not fill (B, L, C) = (${B}, ${L}, ${C})`);
  }
  const N = checkIds('gatherTokens', ids, B, L);
  const out = new Float32Array(B * N * C);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < N; s++) {
      const src = (b * L + ids[b * N + s]) * C;
      out.set(seq.subarray(src, src + C), (b * N + s) * C);
    }
  }
  return out;
}

/**
 * The inverse of `gatherTokens`: writes (B, N, C) tokens back to rows `ids` of a (B, L, C) sequence and fills
 * the other rows with `fill` (a number, or a (C) vector such as a mask token).
 */
export function scatterTokens(
  tokens: Float32Array,
  shape: readonly [number, number, number],
  ids: Int32Array,
  length: number,
  fill: number | Float32Array = 0,
): Float32Array {
  const [B, N, C] = shape;
  if (tokens.length !== B * N * C) {
    throw new MaskingError(`scatterTokens: ${tokens.length} values do not fill (B, N, C) = (${B}, ${N}, ${C})`);
  }
  if (ids.length !== B * N) throw new MaskingError(`scatterTokens: expected ${B * N} ids (B·N), got ${ids.length}`);
  checkIds('scatterTokens', ids, B, length);
  const out = new Float32Array(B * length * C);
  if (typeof fill === 'number') out.fill(fill);
  else {
    if (fill.length !== C)
      throw new MaskingError(`scatterTokens: the fill vector has ${fill.length} values, not C = ${C}`);
    for (let r = 0; r < B * length; r++) out.set(fill, r * C);
  }
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < N; s++) {
      const src = (b * N + s) * C;
      out.set(tokens.subarray(src, src + C), (b * length + ids[b * N + s]) * C);
    }
  }
  return out;
}
