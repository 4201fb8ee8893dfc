/**
 * Direct convolution X → Y (conv3d forward, convTranspose3d input gradient), register tiled: each invocation
 * computes T output channels × TW consecutive outputs along W. For every (input channel, kd, kh) it loads the
 * input row segment those TW outputs need once (each value reused by up to kW·TW FMAs) and the T weights of each
 * tap with vec4 loads (weights packed channel-innermost by `packWeight`), then accumulates T·TW sums in registers.
 *
 * Variants: 'direct' (T = 8 or 4 channels) and 'depthwise' (G = CX = CY: T = 1, a longer W row so a 7×7×7
 * kernel reuses each loaded input value across 7 taps × the row).
 */
import { empty, runKernel } from '../../runtime/kernel.js';
import { fixedSubgroupSize } from '../../runtime/subgroups.js';
import type { Tensor } from '../../tensor.js';
import { type ConvGeometry, cpgX, cpgY } from './geometry.js';
import { CONV_WG, channelTile, decode, entry, launchGrid, packBlocks, packWeight } from './pack.js';

export interface DirectTiles {
  channels: number;
  width: number;
}

/**
 * Tile of the direct kernel. With weights shared over subgroups (`subgroup` > 0) weight loads are nearly free, so
 * 16 channels × ≤ 8 positions (same 32 vec4 sums as 8 × 16, but half the input loads per FMA) where 16 divides
 * the channels: 5–35% faster on lavapipe's 3×3×3 convs.
 */
export function directTiles(geom: ConvGeometry, variant: 'direct' | 'depthwise', subgroup = 0): DirectTiles {
  const width = rowTile(geom.yDims[2]);
  if (variant === 'depthwise') return { channels: 1, width };
  if (subgroup && cpgY(geom) % 16 === 0) return { channels: 16, width: rowTile(geom.yDims[2], 8) };
  return { channels: channelTileSize(cpgY(geom)), width };
}

/**
 * Channels per invocation for `count` channels of a group: 8 (two vec4 sums per position), or 12 where that
 * divides the count and 8 does not (12 → one block instead of 8 + 8 with 4 idle channels), 4 for 2–7, 1 for 1.
 */
export function channelTileSize(count: number): number {
  if (count >= 8) return count % 8 !== 0 && count % 12 === 0 ? 12 : 8;
  return count >= 2 ? 4 : 1;
}

/**
 * Outputs per invocation along W: rows are cut into the fewest blocks of at most 16 (long rows measured fastest
 * on lavapipe: 8 channels × 16 positions ≈ 14 GFLOP/s against 7 for 8 × 4 on the 3×3×3 conv), all of the same
 * width, so no lane computes a position past the row end (a 24-wide row is 2 × 12, not 16 + 16 with 8 wasted).
 */
export function rowTile(width: number, max = 16): number {
  const blocks = Math.max(1, Math.ceil(width / max));
  return Math.max(1, Math.ceil(width / blocks));
}

/** Sorted distinct values of j·stride + e·dilation (the row offsets a W tile touches). */
export function rowOffsets(tileW: number, k: number, stride: number, dilation: number): number[] {
  const set = new Set<number>();
  for (let j = 0; j < tileW; j++) for (let e = 0; e < k; e++) set.add(j * stride + e * dilation);
  return [...set].sort((a, b) => a - b);
}

/**
 * Grid of the subgroup layout: workgroup x over the output rows (W blocks × H × D, CONV_WG per workgroup), y over
 * the channel blocks of all groups, z over the batch. Null when a dimension would pass the 65535-workgroup limit.
 */
export function subgroupGrid(geom: ConvGeometry, tiles: DirectTiles): [number, number, number] | null {
  const spatial = geom.yDims[0] * geom.yDims[1] * Math.ceil(geom.yDims[2] / tiles.width);
  const grid: [number, number, number] = [
    Math.ceil(spatial / CONV_WG),
    geom.groups * packBlocks(geom, 'forward', tiles.channels),
    geom.n,
  ];
  return grid.every((g) => g <= 65535) ? grid : null;
}

/**
 * WGSL of the direct kernel (exported for tests of the generator).
 *
 * With `subgroup` = S (a device whose subgroups all have S lanes) the kernel shares the weights over each
 * subgroup: the workgroup id fixes the channel block and the batch entry, so every lane of a subgroup needs the
 * same kW·T weights per (input channel, kd, kh); lane l loads chunk l of them and `subgroupBroadcast` hands each
 * chunk to all lanes. On CPU adapters (lavapipe) every load is per lane, so this halves the loads of the inner
 * loop. Border taps are masked rather than skipped, to keep the control flow uniform around the broadcasts.
 */
export function directWgsl(
  geom: ConvGeometry,
  tiles: DirectTiles,
  hasBias: boolean,
  subgroup = 0,
): { wgsl: string; total: number } {
  const tile = channelTile(tiles.channels);
  const TW = tiles.width;
  const Q = tile.chunks;
  const [D, H, W] = geom.xDims;
  const [Do, Ho, Wo] = geom.yDims;
  const [kD, kH, kW] = geom.kernel;
  const [sD, sH, sW] = geom.stride;
  const [pD, pH, pW] = geom.padding;
  const [dD, dH, dW] = geom.dilation;
  const px = cpgX(geom);
  const py = cpgY(geom);
  const blocks = packBlocks(geom, 'forward', tile.size);
  const wBlocks = Math.ceil(Wo / TW);
  const total = geom.n * geom.groups * blocks * Do * Ho * wBlocks;
  const { rowStride } = launchGrid(total);
  const offsets = rowOffsets(TW, kW, sW, dW);
  const slot = new Map(offsets.map((o, r) => [o, r]));
  const DHW = D * H * W;
  const lines: string[] = [];
  lines.push(`  let iw0 = i32(wb * ${TW * sW}u) - ${pW};`);
  offsets.forEach((o, r) => {
    lines.push(
      `  let p${r} = iw0 + ${o}; let m${r} = p${r} >= 0 && p${r} < ${W}; let c${r} = u32(clamp(p${r}, 0, ${W - 1}));`,
    );
  });
  for (let j = 0; j < TW; j++) for (let q = 0; q < Q; q++) lines.push(`  var acc${j}_${q} = ${tile.type}(0.0);`);
  const S = subgroup;
  const inner: string[] = [];
  offsets.forEach((_, r) => {
    inner.push(`        let x${r} = select(0.0, x[row + c${r}], m${r}${S ? ' && inRow' : ''});`);
  });
  inner.push(`        let wk = (((gb * ${px}u + ci) * ${kD}u + a) * ${kH}u + b) * ${kW * Q}u;`);
  const chunkCount = kW * Q;
  if (S) {
    for (let i = 0; i < Math.ceil(chunkCount / S); i++)
      inner.push(`        let wv${i} = w[wk + min(lane + ${i * S}u, ${chunkCount - 1}u)];`);
  }
  for (let e = 0; e < kW; e++) {
    for (let q = 0; q < Q; q++) {
      const c = e * Q + q;
      inner.push(
        S
          ? `        let w${e}_${q} = subgroupBroadcast(wv${Math.floor(c / S)}, ${c % S}u);`
          : `        let w${e}_${q} = w[wk + ${c}u];`,
      );
    }
    for (let j = 0; j < TW; j++) {
      const r = slot.get(j * sW + e * dW);
      for (let q = 0; q < Q; q++) {
        inner.push(`        acc${j}_${q} = fma(w${e}_${q}, ${tile.splat(`x${r}`)}, acc${j}_${q});`);
      }
    }
  }
  const stores: string[] = [];
  const channelGuard = blocks * tile.size !== py;
  const outChannelStride = Do * Ho * Wo;
  stores.push(
    `  let obase = (((n * ${geom.cy}u + g * ${py}u + blk * ${tile.size}u) * ${Do}u + od) * ${Ho}u + oh) * ${Wo}u + wb * ${TW}u;`,
  );
  for (let t = 0; t < tile.size; t++) {
    const guard = channelGuard ? `blk * ${tile.size}u + ${t}u < ${py}u` : 'true';
    const biasTerm = hasBias ? ` + bias[g * ${py}u + blk * ${tile.size}u + ${t}u]` : '';
    stores.push(`  if (${guard}) {`);
    for (let j = 0; j < TW; j++) {
      const guardW = wBlocks * TW !== Wo ? `if (wb * ${TW}u + ${j}u < ${Wo}u) ` : '';
      stores.push(
        `    ${guardW}{ out[obase + ${t * outChannelStride + j}u] = ${tile.lane(`acc${j}_${tile.chunkOf(t)}`, t)}${biasTerm}; }`,
      );
    }
    stores.push('  }');
  }
  const wType = tile.type;
  const head = `${S ? 'enable subgroups;\n' : ''}@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<${wType}>;
${hasBias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${hasBias ? 3 : 2}) var<storage, read_write> out: array<f32>;`;
  const common = `  let g = gb / ${blocks}u;
  let blk = gb % ${blocks}u;
${lines.join('\n')}
  let xn = (n * ${geom.cx}u + g * ${px}u) * ${DHW}u;
  let od0 = i32(od) * ${sD} - ${pD};
  let oh0 = i32(oh) * ${sH} - ${pH};`;
  let wgsl: string;
  if (!S) {
    wgsl = `${head}
${entry(total, rowStride)}
${decode(
  'index',
  [
    ['wb', wBlocks],
    ['oh', Ho],
    ['od', Do],
    ['gb', geom.groups * blocks],
  ],
  'n',
)}
${common}
  for (var ci = 0u; ci < ${px}u; ci++) {
    let xc = xn + ci * ${DHW}u;
    for (var a = 0u; a < ${kD}u; a++) {
      let id = od0 + i32(a) * ${dD};
      if (id < 0 || id >= ${D}) { continue; }
      for (var b = 0u; b < ${kH}u; b++) {
        let ih = oh0 + i32(b) * ${dH};
        if (ih < 0 || ih >= ${H}) { continue; }
        let row = xc + (u32(id) * ${H}u + u32(ih)) * ${W}u;
${inner.join('\n')}
      }
    }
  }
${stores.join('\n')}
}`;
  } else {
    const spatial = Do * Ho * wBlocks;
    wgsl = `${head}
@compute @workgroup_size(${CONV_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let gb = wid.y;
  let n = wid.z;
  let sp = wid.x * ${CONV_WG}u + lidx;
  // No early return and no skipped taps: every lane takes part in every broadcast. Stores are guarded instead.
  let inRange = sp < ${spatial}u;
${decode(
  `min(sp, ${spatial - 1}u)`,
  [
    ['wb', wBlocks],
    ['oh', Ho],
  ],
  'od',
)}
${common}
  for (var ci = 0u; ci < ${px}u; ci++) {
    let xc = xn + ci * ${DHW}u;
    for (var a = 0u; a < ${kD}u; a++) {
      let id = od0 + i32(a) * ${dD};
      let inD = id >= 0 && id < ${D};
      for (var b = 0u; b < ${kH}u; b++) {
        let ih = oh0 + i32(b) * ${dH};
        let inRow = inD && ih >= 0 && ih < ${H};
        let row = xc + (u32(clamp(id, 0, ${D - 1})) * ${H}u + u32(clamp(ih, 0, ${H - 1}))) * ${W}u;
${inner.join('\n')}
      }
    }
  }
  if (inRange) {
${stores.join('\n')}
  }
}`;
  }
  return { wgsl, total };
}

let subgroupOverride: number | null = null;

/** Forces the subgroup size the conv kernels share weights over (0: none; tests); null restores the device's. */
export function setConvSubgroupSize(size: number | null): void {
  subgroupOverride = size;
}

/** The fixed subgroup size of the device (0 when it has none or they vary), unless a test forced one. */
export function convSubgroupSize(): number {
  return subgroupOverride ?? fixedSubgroupSize('conv3d');
}

/** Y = conv(X, weight) (+ bias over CY). `x` (N, CX, D, H, W) contiguous, weight (CY, CX/G, kD, kH, kW). */
export function runDirect(
  geom: ConvGeometry,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  variant: 'direct' | 'depthwise',
  name: string,
): Tensor {
  const S = convSubgroupSize();
  let tiles = directTiles(geom, variant, S);
  const grid = S ? subgroupGrid(geom, tiles) : null;
  if (!grid) tiles = directTiles(geom, variant, 0);
  const subgroup = grid ? S : 0;
  const out = empty([geom.n, geom.cy, ...geom.yDims], 'f32', name);
  if (out.size === 0) return out;
  const packed = tiles.channels === 1 ? weight : packWeight(weight, geom, 'forward', tiles.channels);
  const { wgsl, total } = directWgsl(geom, tiles, bias !== null, subgroup);
  const workgroups = subgroup && grid ? grid : launchGrid(total).workgroups;
  const inputs = bias ? [x, packed, bias] : [x, packed];
  runKernel(`${name}.${variant}`, wgsl, inputs, [out], workgroups);
  if (packed !== weight) packed.dispose();
  return out;
}
