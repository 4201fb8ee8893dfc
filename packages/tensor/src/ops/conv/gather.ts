/**
 * Transposed convolution Y → X in gather form (conv3d input gradient, convTranspose3d forward): every output
 * voxel of X sums the Y values whose taps reach it, so there are no atomics and no races. Register tiled like
 * the direct kernel: T channels of X × TW positions along W per invocation.
 *
 * Along W two code shapes, chosen from the stride:
 * - stride 1: the TW outputs need one contiguous Y row segment, loaded once and reused by every tap;
 * - stride s > 1: an invocation takes outputs of one phase r = iw mod s (iw = r + s·(m + j)), so for each tap
 *   either all of them receive a term from consecutive Y positions or none does.
 * Along D and H the taps whose (i + P − a·dil) is not a multiple of s are skipped.
 *
 * Variants: 'gather' (T = 8 or 4), 'depthwise' (T = 1, G = CX = CY) and 'nonoverlap' (kernel = stride,
 * no padding, dilation 1: the k2s2 UNet upsampling, where every output voxel receives exactly one tap).
 */
import { empty, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { channelTileSize, convSubgroupSize, rowTile } from './direct.js';
import { type ConvGeometry, cpgX, cpgY } from './geometry.js';
import { CONV_WG, channelTile, decode, entry, launchGrid, packBlocks, packWeight } from './pack.js';

export type GatherVariant = 'gather' | 'depthwise' | 'nonoverlap';

function gatherTiles(geom: ConvGeometry, variant: GatherVariant): { channels: number; width: number } {
  const px = cpgX(geom);
  // Positions per invocation along W: Y positions for nonoverlap, phase positions for strided gathers.
  const extent =
    variant === 'nonoverlap' || geom.stride[2] > 1 ? Math.ceil(geom.xDims[2] / geom.stride[2]) : geom.xDims[2];
  const width = variant === 'nonoverlap' ? Math.min(8, rowTile(extent)) : rowTile(extent);
  if (variant === 'depthwise') return { channels: 1, width };
  return { channels: channelTileSize(px), width };
}

/** True when every X voxel receives at most one tap per channel: kernel = stride, padding 0, dilation 1. */
export function isNonOverlapping(geom: ConvGeometry): boolean {
  return [0, 1, 2].every(
    (i) =>
      geom.kernel[i] === geom.stride[i] && geom.padding[i] === 0 && (geom.dilation[i] === 1 || geom.kernel[i] === 1),
  );
}

/** D/H loop body guard: maps output coordinate `i` and tap `a` to the Y coordinate `name` or skips. */
function tapGuard(name: string, i: string, tap: string, s: number, p: number, dil: number, size: number): string {
  const t = `${i} + ${p} - i32(${tap}) * ${dil}`;
  if (s === 1) {
    return `let ${name} = ${t};
      if (${name} < 0 || ${name} >= ${size}) { continue; }`;
  }
  return `let ${name}t = ${t};
      if (${name}t < 0 || ${name}t % ${s} != 0) { continue; }
      let ${name} = ${name}t / ${s};
      if (${name} >= ${size}) { continue; }`;
}

/** Whether the stride-1 gather shares its weights over subgroups (see `gatherWgsl`). */
function sharesWeights(geom: ConvGeometry, variant: GatherVariant): boolean {
  return variant === 'gather' && geom.stride.every((s) => s === 1);
}

/** Subgroup-layout grid: x over (W blocks × H × D) rows, y over channel blocks, z over the batch; null if too big. */
function subgroupGatherGrid(geom: ConvGeometry, variant: GatherVariant): [number, number, number] | null {
  const tiles = gatherTiles(geom, variant);
  const [D, H, W] = geom.xDims;
  const grid: [number, number, number] = [
    Math.ceil((D * H * Math.ceil(W / tiles.width)) / CONV_WG),
    geom.groups * packBlocks(geom, 'transposed', tiles.channels),
    geom.n,
  ];
  return grid.every((g) => g <= 65535) ? grid : null;
}

/**
 * WGSL of the gather kernel. With `subgroup` = S (stride-1 'gather' only) the channel block and batch entry come
 * from the workgroup id, each lane loads one chunk of the kW·T weights a (o, kd, kh) step needs and
 * `subgroupBroadcast` shares them, and border taps are masked instead of skipped (uniform control flow around the
 * broadcasts) — the same scheme as the direct kernel.
 */
function gatherWgsl(
  geom: ConvGeometry,
  variant: GatherVariant,
  hasBias: boolean,
  subgroup = 0,
): { wgsl: string; total: number } {
  const S = sharesWeights(geom, variant) ? subgroup : 0;
  const tiles = gatherTiles(geom, variant);
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
  const blocks = packBlocks(geom, 'transposed', tile.size);
  const nonoverlap = variant === 'nonoverlap';
  // W blocks: static (stride 1) TW consecutive outputs; phase (stride > 1) sW phases × blocks of TW; nonoverlap
  // TW consecutive Y positions, each writing sW outputs.
  const phase = !nonoverlap && sW > 1;
  const mBlocks = nonoverlap
    ? Math.ceil(Math.ceil(W / sW) / TW)
    : phase
      ? Math.ceil(Math.ceil(W / sW) / TW)
      : Math.ceil(W / TW);
  const axes: [string, number][] = [
    ['mb', mBlocks],
    ['ih', H],
    ['id', D],
  ];
  if (phase) axes.push(['r', sW]);
  axes.push(['gb', geom.groups * blocks]);
  const total = geom.n * geom.groups * blocks * D * H * mBlocks * (phase ? sW : 1);
  const { rowStride } = launchGrid(total);
  const outputsPerBlock = nonoverlap ? TW * kW : TW;
  const pre: string[] = [];
  const rowLoads: string[] = [];
  const fmas: string[] = [];
  /** Accumulator index → WGSL expression of its W position (u32). */
  const positions: string[] = [];
  for (let j = 0; j < outputsPerBlock; j++)
    for (let q = 0; q < Q; q++) pre.push(`  var acc${j}_${q} = ${tile.type}(0.0);`);
  const weightLoads = (e: number, indent: string): string[] =>
    Array.from({ length: Q }, (_, q) => {
      const c = e * Q + q;
      return S
        ? `${indent}let w${e}_${q} = subgroupBroadcast(wv${Math.floor(c / S)}, ${c % S}u);`
        : `${indent}let w${e}_${q} = w[wk + ${c}u];`;
    });
  const fma = (j: number, e: number, value: string, indent: string): string[] =>
    Array.from({ length: Q }, (_, q) => `${indent}acc${j}_${q} = fma(w${e}_${q}, ${tile.splat(value)}, acc${j}_${q});`);
  let dhLoop: string;
  if (nonoverlap) {
    pre.push(`  let od = id / ${sD}u; let a = id % ${sD}u; let oh = ih / ${sH}u; let b = ih % ${sH}u;`);
    pre.push(`  let count = select(0u, ${py}u, od < ${Do}u && oh < ${Ho}u);`);
    for (let j = 0; j < TW; j++) {
      pre.push(`  let m${j} = mb * ${TW}u + ${j}u < ${Wo}u; let c${j} = min(mb * ${TW}u + ${j}u, ${Wo - 1}u);`);
      rowLoads.push(`    let y${j} = select(0.0, y[row + c${j}], m${j});`);
    }
    rowLoads.push(`    let wk = (((gb * ${py}u + o) * ${kD}u + a) * ${kH}u + b) * ${kW * Q}u;`);
    for (let e = 0; e < kW; e++) {
      fmas.push(...weightLoads(e, '    '));
      for (let j = 0; j < TW; j++) fmas.push(...fma(j * kW + e, e, `y${j}`, '    '));
    }
    for (let j = 0; j < TW; j++) for (let e = 0; e < kW; e++) positions.push(`(mb * ${TW}u + ${j}u) * ${sW}u + ${e}u`);
    dhLoop = `  for (var o = 0u; o < count; o++) {
    let row = (n * ${geom.cy}u + g * ${py}u + o) * ${Do * Ho * Wo}u + (od * ${Ho}u + oh) * ${Wo}u;
${rowLoads.join('\n')}
${fmas.join('\n')}
  }`;
  } else {
    if (!phase) {
      // ow = iw + pW − e·dW = (mb·TW + pW) + (j − e·dW)
      const offsets = new Set<number>();
      for (let j = 0; j < TW; j++) for (let e = 0; e < kW; e++) offsets.add(j - e * dW);
      const sorted = [...offsets].sort((a, b) => a - b);
      const slot = new Map(sorted.map((o, r) => [o, r]));
      pre.push(`  let ow0 = i32(mb * ${TW}u) + ${pW};`);
      sorted.forEach((o, r) => {
        pre.push(
          `  let p${r} = ow0 + ${o}; let m${r} = p${r} >= 0 && p${r} < ${Wo}; let c${r} = u32(clamp(p${r}, 0, ${Wo - 1}));`,
        );
        rowLoads.push(`        let y${r} = select(0.0, y[row + c${r}], m${r}${S ? ' && inRow' : ''});`);
      });
      for (let e = 0; e < kW; e++) {
        fmas.push(...weightLoads(e, '        '));
        for (let j = 0; j < TW; j++) fmas.push(...fma(j, e, `y${slot.get(j - e * dW)}`, '        '));
      }
      for (let j = 0; j < TW; j++) positions.push(`mb * ${TW}u + ${j}u`);
    } else {
      // iw = r + sW·(mb·TW + j); tap e reaches it from ow = mb·TW + j + (r + pW − e·dW)/sW when divisible.
      for (let e = 0; e < kW; e++) {
        pre.push(`  let t${e} = i32(r) + ${pW - e * dW}; let v${e} = ((t${e} % ${sW}) + ${sW}) % ${sW} == 0;`);
        pre.push(`  let q${e} = i32(mb * ${TW}u) + t${e} / ${sW};`);
        const loads: string[] = [];
        for (let j = 0; j < TW; j++) {
          pre.push(
            `  let m${e}_${j} = v${e} && q${e} + ${j} >= 0 && q${e} + ${j} < ${Wo}; let c${e}_${j} = u32(clamp(q${e} + ${j}, 0, ${Wo - 1}));`,
          );
          loads.push(`          let y${e}_${j} = select(0.0, y[row + c${e}_${j}], m${e}_${j});`);
        }
        fmas.push(`        if (v${e}) {`, ...weightLoads(e, '          '), ...loads);
        for (let j = 0; j < TW; j++) fmas.push(...fma(j, e, `y${e}_${j}`, '          '));
        fmas.push('        }');
      }
      for (let j = 0; j < TW; j++) positions.push(`r + ${sW}u * (mb * ${TW}u + ${j}u)`);
    }
    rowLoads.push(`        let wk = (((gb * ${py}u + o) * ${kD}u + u32(a)) * ${kH}u + u32(b)) * ${kW * Q}u;`);
    if (S) {
      for (let i = 0; i < Math.ceil((kW * Q) / S); i++)
        rowLoads.push(`        let wv${i} = w[wk + min(lane + ${i * S}u, ${kW * Q - 1}u)];`);
    }
    dhLoop = S
      ? `  let id0 = i32(id);
  let ih0 = i32(ih);
  for (var o = 0u; o < ${py}u; o++) {
    let yc = (n * ${geom.cy}u + g * ${py}u + o) * ${Do * Ho * Wo}u;
    for (var a = 0; a < ${kD}; a++) {
      let odt = id0 + ${pD} - a * ${dD};
      let inD = odt >= 0 && odt < ${Do};
      for (var b = 0; b < ${kH}; b++) {
        let oht = ih0 + ${pH} - b * ${dH};
        let inRow = inD && oht >= 0 && oht < ${Ho};
        let row = yc + (u32(clamp(odt, 0, ${Do - 1})) * ${Ho}u + u32(clamp(oht, 0, ${Ho - 1}))) * ${Wo}u;
${rowLoads.join('\n')}
${fmas.join('\n')}
      }
    }
  }`
      : `  let id0 = i32(id);
  let ih0 = i32(ih);
  for (var o = 0u; o < ${py}u; o++) {
    let yc = (n * ${geom.cy}u + g * ${py}u + o) * ${Do * Ho * Wo}u;
    for (var a = 0; a < ${kD}; a++) {
      ${tapGuard('od', 'id0', 'a', sD, pD, dD, Do)}
      for (var b = 0; b < ${kH}; b++) {
        ${tapGuard('oh', 'ih0', 'b', sH, pH, dH, Ho)}
        let row = yc + (u32(od) * ${Ho}u + u32(oh)) * ${Wo}u;
${rowLoads.join('\n')}
${fmas.join('\n')}
      }
    }
  }`;
  }
  const stores: string[] = [];
  const channelGuard = blocks * tile.size !== px;
  const DHW = D * H * W;
  stores.push(
    `  let xbase = ((n * ${geom.cx}u + g * ${px}u + blk * ${tile.size}u) * ${D}u + id) * ${H * W}u + ih * ${W}u;`,
  );
  for (let t = 0; t < tile.size; t++) {
    const guard = channelGuard ? `blk * ${tile.size}u + ${t}u < ${px}u` : 'true';
    const biasTerm = hasBias ? ` + bias[g * ${px}u + blk * ${tile.size}u + ${t}u]` : '';
    stores.push(`  if (${guard}) {`);
    positions.forEach((pos, j) => {
      stores.push(
        `    { let iw = ${pos}; if (iw < ${W}u) { x[xbase + ${t * DHW}u + iw] = ${tile.lane(`acc${j}_${tile.chunkOf(t)}`, t)}${biasTerm}; } }`,
      );
    });
    stores.push('  }');
  }
  const spatial = D * H * mBlocks;
  const opening = S
    ? `@compute @workgroup_size(${CONV_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let gb = wid.y;
  let n = wid.z;
  let sp = wid.x * ${CONV_WG}u + lidx;
  // No early return and no skipped taps: every lane takes part in every broadcast. Stores are guarded instead.
  let inRange = sp < ${spatial}u;
${decode(`min(sp, ${spatial - 1}u)`, axes.slice(0, 2), 'id')}`
    : `${entry(total, rowStride)}
${decode('index', axes, 'n')}`;
  const wgsl = `${S ? 'enable subgroups;\n' : ''}@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<${tile.type}>;
${hasBias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${hasBias ? 3 : 2}) var<storage, read_write> x: array<f32>;
${opening}
  let g = gb / ${blocks}u;
  let blk = gb % ${blocks}u;
${pre.join('\n')}
${dhLoop}
${S ? `  if (inRange) {\n${stores.join('\n')}\n  }` : stores.join('\n')}
}`;
  return { wgsl, total };
}

/** X = convᵀ(Y, weight) (+ bias over CX). `y` (N, CY, D', H', W') contiguous, weight (CY, CX/G, kD, kH, kW). */
export function runGather(
  geom: ConvGeometry,
  y: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  variant: GatherVariant,
  name: string,
): Tensor {
  const tiles = gatherTiles(geom, variant);
  const out = empty([geom.n, geom.cx, ...geom.xDims], 'f32', name);
  if (out.size === 0) return out;
  const identityPack = tiles.channels === 1 && (cpgX(geom) === 1 || cpgY(geom) === 1);
  const packed = identityPack ? weight : packWeight(weight, geom, 'transposed', tiles.channels);
  const grid = sharesWeights(geom, variant) ? subgroupGatherGrid(geom, variant) : null;
  const subgroup = grid ? convSubgroupSize() : 0;
  const { wgsl, total } = gatherWgsl(geom, variant, bias !== null, subgroup);
  const workgroups = subgroup && grid ? grid : launchGrid(total).workgroups;
  runKernel(`${name}.${variant}`, wgsl, bias ? [y, packed, bias] : [y, packed], [out], workgroups);
  if (packed !== weight) packed.dispose();
  return out;
}
