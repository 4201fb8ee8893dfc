/**
 * MiM multi-level masked volumes (MiM paper §III-B, Fig. 3, Fig. 9; geometry of shared/METHODS.md §4.2).
 *
 * Defaults (code "Plan A"): a level-1 crop of G·S = 2×2×2 sub-volumes of S = 96³ (192³) is resized to the
 * network input 96³ and masked on a 6³ token grid at sub-volume granularity (a sub-volume is masked wholesale,
 * its spatially correct octant of 3×3×3 tokens); γ = 4 masked sub-volumes are cut at native resolution (96³) as
 * level-2 volumes, each MAE-masked on its own 6³ grid; for each level-2 volume γ of its masked 16³ tokens are cut
 * at native resolution and resized to 96³ as level-3 volumes (and so on for L > 3, while the token size stays
 * an integer). One level-1 sample gives 1 + γ + γ² volumes.
 *
 * Shapes per level l (V_l = γ^(l−1) volumes per level-1 sample, L = tokens of `tokenGrid`, N_l visible):
 * - `boxes`        V_l boxes in level-1 crop voxels (native resolution), `nativeSize` each
 * - `volumes`      (V_l, C, inputX, inputY, inputZ) f32, when a level-1 crop was given
 * - `mask`         PatchMask with batch V_l: `masked`/`visible` (V_l, L), `idsKeep` (V_l, N_l), `idsRestore`,
 *                  `idsShuffle` (V_l, L)
 * - `parent`       (V_l) i32: index of the level-(l−1) volume it was cut from (−1 at level 1)
 * - `label`        (V_l) i32: the positive pair of the cross-level loss: the level-1 sub-volume index
 *                  (raster over `subVolumeGrid`) at level 2, the parent's token index in [0, L) at level ≥ 3
 * - `labelTokens`  V_l Int32Arrays: the parent-grid tokens that `label` covers (the sub-volume's tokens at level 2,
 *                  `[label]` at level ≥ 3)
 *
 * Table II's 384×384×192 level-1 crop (subVolumeGrid 4×4×2) is accepted as the spec's approximate mode: the
 * sub-volumes are not token-aligned, and a token is masked iff the sub-volume holding its centre is masked.
 */
import { MaskingError } from './errors.js';
import { cellCoords, cellCount, type Grid3, type GridLike, toGrid } from './grid.js';
import { type RandomInput, type RandomSource, sampleWithoutReplacement, toRandomSource } from './random.js';
import {
  concatMasks,
  type IdsOrder,
  maskedCount,
  maskFromBinary,
  type PatchMask,
  randomPatchMask,
} from './random-mask.js';
import { type Box, cutBox, resizeTrilinear, type Volume } from './volume.js';

export interface MimOptions {
  /** Native size of one level-1 sub-volume = one level-2 volume (default 96). */
  subVolumeSize?: GridLike;
  /** Sub-volumes per axis of the level-1 crop (default 2: a 2×2×2 grid, crop 192³). */
  subVolumeGrid?: GridLike;
  /** Network input size of every level (default 96). */
  inputSize?: GridLike;
  /** Token grid of every level's input (default 6: 16³ tokens of a 96³ input). */
  tokenGrid?: GridLike;
  /** Number of levels L ≥ 1 (default 3). */
  levels?: number;
  /** Volumes cut per masked parent, γ (default 4). */
  gamma?: number;
  /** Mask ratio per level, or one for all (default 0.6, the paper). Level 1 masks round(r·G) sub-volumes. */
  maskRatio?: number | readonly number[];
  /** Order inside the visible / masked parts of `idsShuffle` (default `'random'`, MAE). */
  order?: IdsOrder;
  /**
   * `'octant'` (default): level-1 tokens belong to the sub-volume holding their centre. `'rasterChunk'` emulates
   * the official code's defect: group g = raster tokens [g·L/G, (g+1)·L/G), while sub-volume g is still cut.
   */
  level1Grouping?: 'octant' | 'rasterChunk';
}

export interface ResolvedMimOptions {
  subVolumeSize: Grid3;
  subVolumeGrid: Grid3;
  inputSize: Grid3;
  tokenGrid: Grid3;
  levels: number;
  gamma: number;
  maskRatios: number[];
  order: IdsOrder;
  level1Grouping: 'octant' | 'rasterChunk';
  /** Level-1 crop size = subVolumeGrid · subVolumeSize. */
  cropSize: Grid3;
}

export interface MimLevel {
  level: number;
  count: number;
  nativeSize: Grid3;
  boxes: Box[];
  parent: Int32Array;
  label: Int32Array;
  labelTokens: Int32Array[];
  /** Which level-1 sample each volume belongs to (all 0 for `mimMultiLevel`). */
  sample: Int32Array;
  mask: PatchMask;
  volumes?: Float32Array;
}

export interface MimSample {
  options: ResolvedMimOptions;
  /** (B, G) u8, 1 = level-1 sub-volume masked, raster over `subVolumeGrid` (B = 1 for one sample). */
  subVolumeMasked: Uint8Array;
  /** (L) i32: the level-1 group (sub-volume) of each token. */
  tokenGroup: Int32Array;
  /** True when every sub-volume covers a whole block of level-1 tokens (exact, not approximate, mode). */
  aligned: boolean;
  /** Level 1 first. */
  levels: MimLevel[];
}

export function resolveMimOptions(options: MimOptions = {}): ResolvedMimOptions {
  const fn = 'mimMultiLevel';
  const subVolumeSize = toGrid(options.subVolumeSize ?? 96, fn, 'subVolumeSize');
  const subVolumeGrid = toGrid(options.subVolumeGrid ?? 2, fn, 'subVolumeGrid');
  const inputSize = toGrid(options.inputSize ?? 96, fn, 'inputSize');
  const tokenGrid = toGrid(options.tokenGrid ?? 6, fn, 'tokenGrid');
  const levels = options.levels ?? 3;
  const gamma = options.gamma ?? 4;
  if (!Number.isInteger(levels) || levels < 1) throw new MaskingError(`${fn}: levels must be an integer ≥ 1`);
  if (!Number.isInteger(gamma) || gamma < 1) throw new MaskingError(`${fn}: gamma must be an integer ≥ 1`);
  const ratio = options.maskRatio ?? 0.6;
  const maskRatios = typeof ratio === 'number' ? new Array<number>(levels).fill(ratio) : [...ratio];
  if (maskRatios.length !== levels) {
    throw new MaskingError(`${fn}: maskRatio has ${maskRatios.length} entries for ${levels} levels`);
  }
  const cropSize = subVolumeSize.map((n, a) => n * subVolumeGrid[a]) as unknown as Grid3;
  return {
    subVolumeSize,
    subVolumeGrid,
    inputSize,
    tokenGrid,
    levels,
    gamma,
    maskRatios,
    order: options.order ?? 'random',
    level1Grouping: options.level1Grouping ?? 'octant',
    cropSize,
  };
}

function tokenGroups(o: ResolvedMimOptions): { group: Int32Array; aligned: boolean } {
  const cells = cellCount(o.tokenGrid);
  const groups = cellCount(o.subVolumeGrid);
  const group = new Int32Array(cells);
  if (o.level1Grouping === 'rasterChunk') {
    if (cells % groups !== 0) {
      throw new MaskingError(`mimMultiLevel: 'rasterChunk' needs ${cells} tokens to split into ${groups} equal chunks`);
    }
    for (let t = 0; t < cells; t++) group[t] = Math.floor(t / (cells / groups));
    return { group, aligned: false };
  }
  const aligned = o.tokenGrid.every((n, a) => n % o.subVolumeGrid[a] === 0);
  for (let t = 0; t < cells; t++) {
    const coords = cellCoords(o.tokenGrid, t);
    const g = coords.map((c, a) => {
      // Token centre in crop voxels → the sub-volume holding it.
      const centre = ((c + 0.5) * o.cropSize[a]) / o.tokenGrid[a];
      return Math.min(Math.floor(centre / o.subVolumeSize[a]), o.subVolumeGrid[a] - 1);
    });
    group[t] = (g[0] * o.subVolumeGrid[1] + g[1]) * o.subVolumeGrid[2] + g[2];
  }
  return { group, aligned };
}

function cutVolumes(crop: Volume | undefined, boxes: Box[], inputSize: Grid3): Float32Array | undefined {
  if (!crop) return undefined;
  const C = crop.shape[0];
  const per = C * cellCount(inputSize);
  const out = new Float32Array(boxes.length * per);
  boxes.forEach((box, v) => {
    out.set(resizeTrilinear(cutBox(crop, box), inputSize).data, v * per);
  });
  return out;
}

/**
 * Generates the multi-level volumes of ONE level-1 sample. `crop` (optional) is the level-1 crop, (C, X, Y, Z)
 * with (X, Y, Z) = `cropSize`; without it only boxes, masks and labels are returned. Deterministic per seed; the
 * generator is used in this order: level-1 sub-volumes, level-1 id order, then per level ≥ 2 the cut choices
 * followed by that level's masks.
 *
 * ```ts
 * const s = mimMultiLevel(3); // defaults: 192³ crop → 1 + 4 + 16 volumes of 96³
 * s.levels[1].label;          // Int32Array(4): the masked sub-volumes (0…7) cut as level 2
 * ```
 */
export function mimMultiLevel(rng: RandomInput, options: MimOptions = {}, crop?: Volume): MimSample {
  const o = resolveMimOptions(options);
  const source = toRandomSource(rng, 'mimMultiLevel');
  if (crop) {
    const [C, X, Y, Z] = crop.shape;
    if (crop.shape.length !== 4 || X !== o.cropSize[0] || Y !== o.cropSize[1] || Z !== o.cropSize[2]) {
      throw new MaskingError(
        `mimMultiLevel: the level-1 crop has shape [${crop.shape}] but (C, ${o.cropSize.join(', ')}) is expected (subVolumeGrid · subVolumeSize)`,
      );
    }
    if (crop.data.length !== C * X * Y * Z) {
      throw new MaskingError(`mimMultiLevel: ${crop.data.length} crop values do not fill [${crop.shape}]`);
    }
  }
  const { group, aligned } = tokenGroups(o);
  const groups = cellCount(o.subVolumeGrid);
  const cells = cellCount(o.tokenGrid);

  // Level 1: mask whole sub-volumes.
  const numGroupsMasked = maskedCount(groups, o.maskRatios[0], 'mimMultiLevel');
  const all = Int32Array.from({ length: groups }, (_, g) => g);
  const maskedGroups = sampleWithoutReplacement(all, numGroupsMasked, source);
  const subVolumeMasked = new Uint8Array(groups);
  for (const g of maskedGroups) subVolumeMasked[g] = 1;
  const tokenMasked = Uint8Array.from(group, (g) => subVolumeMasked[g]);
  const level1: MimLevel = {
    level: 1,
    count: 1,
    nativeSize: o.cropSize,
    boxes: [{ start: [0, 0, 0], size: o.cropSize }],
    parent: Int32Array.of(-1),
    label: Int32Array.of(-1),
    labelTokens: [new Int32Array(0)],
    sample: Int32Array.of(0),
    mask: maskFromBinary(tokenMasked, o.tokenGrid, { order: o.order, rng: source }),
    volumes: cutVolumes(crop, [{ start: [0, 0, 0], size: o.cropSize }], o.inputSize),
  };
  const levels = [level1];

  for (let l = 2; l <= o.levels; l++) {
    const up = levels[l - 2];
    const boxes: Box[] = [];
    const parent: number[] = [];
    const label: number[] = [];
    const labelTokens: Int32Array[] = [];
    let nativeSize: Grid3;
    if (l === 2) {
      nativeSize = o.subVolumeSize;
      if (maskedGroups.length < o.gamma) {
        throw new MaskingError(
          `mimMultiLevel: level 1 masks ${maskedGroups.length} sub-volumes but gamma = ${o.gamma} must be cut from masked ones; raise maskRatio[0] or lower gamma`,
        );
      }
      for (const g of sampleWithoutReplacement(maskedGroups, o.gamma, source)) {
        const coords = cellCoords(o.subVolumeGrid, g);
        boxes.push({ start: coords.map((c, a) => c * o.subVolumeSize[a]) as unknown as Grid3, size: nativeSize });
        parent.push(0);
        label.push(g);
        labelTokens.push(Int32Array.from(group.reduce<number[]>((list, h, t) => (h === g ? [...list, t] : list), [])));
      }
    } else {
      const tokenSize = up.nativeSize.map((n, a) => n / o.tokenGrid[a]);
      if (tokenSize.some((n) => !Number.isInteger(n))) {
        throw new MaskingError(
          `mimMultiLevel: level ${l} needs the level-${l - 1} native size [${up.nativeSize}] divisible by the token grid [${o.tokenGrid}]; use fewer levels or a divisible size`,
        );
      }
      nativeSize = tokenSize as unknown as Grid3;
      for (let v = 0; v < up.count; v++) {
        const pool = up.mask.idsMasked.subarray(v * up.mask.numMasked, (v + 1) * up.mask.numMasked);
        if (pool.length < o.gamma) {
          throw new MaskingError(
            `mimMultiLevel: a level-${l - 1} volume has ${pool.length} masked tokens, fewer than gamma = ${o.gamma}`,
          );
        }
        for (const t of sampleWithoutReplacement(pool, o.gamma, source)) {
          const coords = cellCoords(o.tokenGrid, t);
          const start = up.boxes[v].start.map((s, a) => s + coords[a] * nativeSize[a]) as unknown as Grid3;
          boxes.push({ start, size: nativeSize });
          parent.push(v);
          label.push(t);
          labelTokens.push(Int32Array.of(t));
        }
      }
    }
    const count = boxes.length;
    levels.push({
      level: l,
      count,
      nativeSize,
      boxes,
      parent: Int32Array.from(parent),
      label: Int32Array.from(label),
      labelTokens,
      sample: new Int32Array(count),
      mask: randomPatchMask(o.tokenGrid, o.maskRatios[l - 1], source, { batch: count, order: o.order }),
      volumes: cutVolumes(crop, boxes, o.inputSize),
    });
  }
  if (level1.mask.cells !== cells) throw new MaskingError('mimMultiLevel: internal error (token count)');
  return { options: o, subVolumeMasked, tokenGroup: group, aligned, levels };
}

/**
 * `mimMultiLevel` for B level-1 samples, concatenated level by level (sample-major). `crops` (optional) is
 * (B, C, X, Y, Z). `parent` indices point into the concatenated previous level; `sample` says which level-1
 * sample a volume belongs to. Level-1 masks must keep the same token count in every sample (always true in the
 * aligned mode; the approximate mode may need one sample at a time).
 */
export function mimMultiLevelBatch(
  rng: RandomInput,
  batch: number,
  options: MimOptions = {},
  crops?: { data: Float32Array; shape: readonly [number, number, number, number, number] },
): MimSample {
  if (!Number.isInteger(batch) || batch < 1) throw new MaskingError('mimMultiLevelBatch: batch must be ≥ 1');
  const source: RandomSource = toRandomSource(rng, 'mimMultiLevelBatch');
  const samples: MimSample[] = [];
  for (let b = 0; b < batch; b++) {
    let crop: Volume | undefined;
    if (crops) {
      const [B, C, X, Y, Z] = crops.shape;
      if (B !== batch || crops.data.length !== B * C * X * Y * Z) {
        throw new MaskingError(`mimMultiLevelBatch: crops of shape [${crops.shape}] do not hold ${batch} samples`);
      }
      const per = C * X * Y * Z;
      crop = { data: crops.data.subarray(b * per, (b + 1) * per), shape: [C, X, Y, Z] };
    }
    samples.push(mimMultiLevel(source, options, crop));
  }
  const first = samples[0];
  const levels = first.levels.map((_, l): MimLevel => {
    const parts = samples.map((s) => s.levels[l]);
    const offsets = samples.map((_, b) => (l === 0 ? 0 : b * samples[0].levels[l - 1].count));
    const withVolumes = parts.every((p) => p.volumes);
    const volumes = withVolumes ? new Float32Array(parts.reduce((n, p) => n + p.volumes!.length, 0)) : undefined;
    if (volumes) {
      let at = 0;
      for (const p of parts) {
        volumes.set(p.volumes!, at);
        at += p.volumes!.length;
      }
    }
    return {
      level: l + 1,
      count: parts.reduce((n, p) => n + p.count, 0),
      nativeSize: parts[0].nativeSize,
      boxes: parts.flatMap((p) => p.boxes),
      parent: Int32Array.from(parts.flatMap((p, b) => [...p.parent].map((v) => (v < 0 ? v : v + offsets[b])))),
      label: Int32Array.from(parts.flatMap((p) => [...p.label])),
      labelTokens: parts.flatMap((p) => p.labelTokens),
      sample: Int32Array.from(parts.flatMap((p, b) => new Array<number>(p.count).fill(b))),
      mask: concatMasks(parts.map((p) => p.mask)),
      volumes,
    };
  });
  const subVolumeMasked = new Uint8Array(samples.length * first.subVolumeMasked.length);
  samples.forEach((s, b) => {
    subVolumeMasked.set(s.subVolumeMasked, b * s.subVolumeMasked.length);
  });
  return { options: first.options, subVolumeMasked, tokenGroup: first.tokenGroup, aligned: first.aligned, levels };
}
