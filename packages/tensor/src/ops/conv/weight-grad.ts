/**
 * Weight gradient of a convolution X → Y: gW[o, c, a, b, e] = Σ_{n, y-voxel} gY[n, o, ·] · X[n, c, tap(·)].
 * (For convTranspose3d, X is its output gradient and gY its input.)
 *
 * Parallel over weight blocks and over chunks of the reduction: the N·D'·H' rows of Y are cut into chunks,
 * each invocation sums one chunk for TO output channels × TI input channels × all kW taps of one (a, b), and a
 * second kernel adds the chunk partials. Per row segment of TW outputs it loads TO·TW gradient values and
 * TI input row segments, then does TO·TI·kW·TW FMAs from registers.
 */
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { convSubgroupSize, rowOffsets } from './direct.js';
import { type ConvGeometry, cpgX, cpgY, kernelVolume } from './geometry.js';
import { CONV_WG, channelTile, decode, entry, launchGrid } from './pack.js';

export type WeightGradVariant = 'tiled' | 'depthwise';

/** Target number of invocations: enough workgroups to keep every core (or SM) busy. */
const TARGET_INVOCATIONS = 1 << 14;

function tilesFor(
  geom: ConvGeometry,
  variant: WeightGradVariant,
  subgroup: number,
): { to: number; ti: number; tw: number } {
  if (variant === 'depthwise') return { to: 1, ti: 1, tw: 8 };
  const py = cpgY(geom);
  const ti = Math.min(cpgX(geom), geom.kernel[2] >= 3 ? 2 : 4);
  // Shared gradient loads are cheap, so the subgroup layout takes 8 output channels (more FMAs per input load).
  if (subgroup) return { to: py >= 8 ? 8 : py >= 2 ? 4 : 1, ti, tw: 4 };
  return { to: py >= 2 ? 4 : 1, ti, tw: 4 };
}

/** Subgroup layout (see `weightGradSubgroupWgsl`): the tiled variant on a device with one fixed subgroup size. */
function weightGradSubgroup(variant: WeightGradVariant): number {
  return variant === 'tiled' ? convSubgroupSize() : 0;
}

/** Chunk count of the reduction: enough invocations to fill the device, at least 4 rows per chunk. */
export function reductionChunks(perChunk: number, rows: number): number {
  const wanted = Math.ceil(TARGET_INVOCATIONS / Math.max(1, perChunk));
  return Math.max(1, Math.min(wanted, Math.ceil(rows / 4), 256));
}

function weightGradWgsl(
  geom: ConvGeometry,
  variant: WeightGradVariant,
  chunks: number,
): { wgsl: string; total: number; weightNumel: number } {
  const { to, ti, tw: TW } = tilesFor(geom, variant, 0);
  const tile = channelTile(to);
  const [D, H, W] = geom.xDims;
  const [Do, Ho, Wo] = geom.yDims;
  const [kD, kH, kW] = geom.kernel;
  const [sD, sH, sW] = geom.stride;
  const [pD, pH, pW] = geom.padding;
  const [dD, dH, dW] = geom.dilation;
  const px = cpgX(geom);
  const py = cpgY(geom);
  const oBlocks = Math.ceil(py / to);
  const iBlocks = Math.ceil(px / ti);
  const rows = geom.n * Do * Ho;
  const chunkRows = Math.ceil(rows / chunks);
  const perChunk = geom.groups * oBlocks * iBlocks * kD * kH;
  const total = perChunk * chunks;
  const weightNumel = geom.cy * px * kernelVolume(geom);
  const { rowStride } = launchGrid(total);
  const offsets = rowOffsets(TW, kW, sW, dW);
  const slot = new Map(offsets.map((o, r) => [o, r]));
  const wBlocks = Math.ceil(Wo / TW);
  const pre: string[] = [];
  const body: string[] = [];
  for (let t = 0; t < to; t++) {
    pre.push(`  let oc${t} = g * ${py}u + min(ob * ${to}u + ${t}u, ${py - 1}u);`);
  }
  for (let u = 0; u < ti; u++) {
    pre.push(`  let ic${u} = g * ${px}u + min(ib * ${ti}u + ${u}u, ${px - 1}u);`);
  }
  for (let u = 0; u < ti; u++) for (let e = 0; e < kW; e++) pre.push(`  var acc${u}_${e} = ${tile.type}(0.0);`);
  // gradient values of TW positions × TO channels
  for (let j = 0; j < TW; j++) {
    body.push(`        let mj${j} = ow0 + ${j}u < ${Wo}u; let owp${j} = min(ow0 + ${j}u, ${Wo - 1}u);`);
    const parts = Array.from({ length: to }, (_, t) => `gy[grow${t} + owp${j}]`);
    const value = to === 1 ? parts[0] : `vec4<f32>(${parts.join(', ')})`;
    body.push(`        let gv${j} = select(${tile.type}(0.0), ${value}, mj${j});`);
  }
  body.push(`        let iw0 = i32(ow0 * ${sW}u) - ${pW};`);
  offsets.forEach((o, r) => {
    body.push(
      `        let p${r} = iw0 + ${o}; let m${r} = p${r} >= 0 && p${r} < ${W}; let c${r} = u32(clamp(p${r}, 0, ${W - 1}));`,
    );
    for (let u = 0; u < ti; u++) body.push(`        let x${u}_${r} = select(0.0, x[xrow${u} + c${r}], m${r});`);
  });
  for (let u = 0; u < ti; u++)
    for (let e = 0; e < kW; e++)
      for (let j = 0; j < TW; j++) {
        const r = slot.get(j * sW + e * dW);
        body.push(`        acc${u}_${e} = fma(gv${j}, ${tile.splat(`x${u}_${r}`)}, acc${u}_${e});`);
      }
  const rowSetup: string[] = [];
  for (let t = 0; t < to; t++)
    rowSetup.push(`      let grow${t} = (n * ${geom.cy}u + oc${t}) * ${Do * Ho * Wo}u + yrow;`);
  for (let u = 0; u < ti; u++) rowSetup.push(`      let xrow${u} = (n * ${geom.cx}u + ic${u}) * ${D * H * W}u + xr;`);
  const stores: string[] = [];
  for (let t = 0; t < to; t++)
    for (let u = 0; u < ti; u++) {
      stores.push(`  if (ob * ${to}u + ${t}u < ${py}u && ib * ${ti}u + ${u}u < ${px}u) {`);
      stores.push(
        `    let wi = ${chunks > 1 ? `chunk * ${weightNumel}u + ` : ''}(((oc${t} * ${px}u + ib * ${ti}u + ${u}u) * ${kD}u + a) * ${kH}u + b) * ${kW}u;`,
      );
      for (let e = 0; e < kW; e++) stores.push(`    part[wi + ${e}u] = ${tile.lane(`acc${u}_${e}`, t)};`);
      stores.push('  }');
    }
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
${entry(total, rowStride)}
${decode(
  'index',
  [
    ['b', kH],
    ['a', kD],
    ['ib', iBlocks],
    ['gob', geom.groups * oBlocks],
  ],
  'chunk',
)}
  let g = gob / ${oBlocks}u;
  let ob = gob % ${oBlocks}u;
${pre.join('\n')}
  let rowEnd = min(${rows}u, (chunk + 1u) * ${chunkRows}u);
  for (var rw = chunk * ${chunkRows}u; rw < rowEnd; rw++) {
    let n = rw / ${Do * Ho}u;
    let od = (rw / ${Ho}u) % ${Do}u;
    let oh = rw % ${Ho}u;
    let id = i32(od * ${sD}u) - ${pD} + i32(a) * ${dD};
    let ih = i32(oh * ${sH}u) - ${pH} + i32(b) * ${dH};
    if (id < 0 || id >= ${D} || ih < 0 || ih >= ${H}) { continue; }
    let yrow = (od * ${Ho}u + oh) * ${Wo}u;
    let xr = (u32(id) * ${H}u + u32(ih)) * ${W}u;
${rowSetup.join('\n')}
    for (var wbk = 0u; wbk < ${wBlocks}u; wbk++) {
      let ow0 = wbk * ${TW}u;
${body.join('\n').replaceAll('\n        ', '\n      ')}
    }
  }
${stores.join('\n')}
}`;
  return { wgsl, total, weightNumel };
}

/**
 * Workgroup size of the subgroup layout: the (kh, kd, input block) combos of one output block are few (27 for a
 * 6-channel 3×3×3 conv), so the size is fitted to them — whole subgroups, at most CONV_WG — instead of leaving
 * most of a 64-lane workgroup idle.
 */
function subgroupWorkgroupSize(lanes: number, S: number): number {
  const perGroup = Math.ceil(lanes / Math.ceil(lanes / CONV_WG));
  return Math.min(Math.max(CONV_WG, S), Math.ceil(perGroup / S) * S);
}

/** Subgroup-layout grid: x over the lanes' (kh, kd, input block) combos, y over output blocks, z over chunks. */
function subgroupGrid(
  geom: ConvGeometry,
  chunks: number,
  to: number,
  ti: number,
  S: number,
): [number, number, number] | null {
  const lanes = geom.kernel[0] * geom.kernel[1] * Math.ceil(cpgX(geom) / ti);
  const wg = subgroupWorkgroupSize(lanes, S);
  const grid: [number, number, number] = [Math.ceil(lanes / wg), geom.groups * Math.ceil(cpgY(geom) / to), chunks];
  return grid.every((g) => g <= 65535) ? grid : null;
}

/**
 * The tiled weight gradient with its gradient loads shared over subgroups of S lanes. The workgroup id fixes the
 * reduction chunk and the block of TO output channels, so every lane of a subgroup walks the same gradient rows;
 * per step of TW positions the TO·TW gradient values are loaded once between the lanes (lane l loads values l,
 * l + S, …) and handed out with `subgroupBroadcast`, while each lane loads only its own TI input row segments.
 * Rows whose tap falls outside the input are masked instead of skipped, so the control flow stays uniform.
 */
function weightGradSubgroupWgsl(
  geom: ConvGeometry,
  chunks: number,
  S: number,
): { wgsl: string; total: number; weightNumel: number } {
  const { to, ti, tw: TW } = tilesFor(geom, 'tiled', S);
  const tile = channelTile(to);
  const Q = tile.chunks;
  const [D, H, W] = geom.xDims;
  const [Do, Ho, Wo] = geom.yDims;
  const [kD, kH, kW] = geom.kernel;
  const [sD, sH, sW] = geom.stride;
  const [pD, pH, pW] = geom.padding;
  const [dD, dH, dW] = geom.dilation;
  const px = cpgX(geom);
  const py = cpgY(geom);
  const oBlocks = Math.ceil(py / to);
  const iBlocks = Math.ceil(px / ti);
  const lanes = kD * kH * iBlocks;
  const WG = subgroupWorkgroupSize(lanes, S);
  const rows = geom.n * Do * Ho;
  const chunkRows = Math.ceil(rows / chunks);
  const weightNumel = geom.cy * px * kernelVolume(geom);
  const offsets = rowOffsets(TW, kW, sW, dW);
  const slot = new Map(offsets.map((o, r) => [o, r]));
  const wBlocks = Math.ceil(Wo / TW);
  const values = to * TW; // gradient values per step, value v = j·TO + t
  const registers = Math.ceil(values / S);
  const pre: string[] = [];
  for (let u = 0; u < ti; u++) pre.push(`  let ic${u} = g * ${px}u + min(ib * ${ti}u + ${u}u, ${px - 1}u);`);
  for (let i = 0; i < registers; i++) {
    pre.push(`  let v${i} = min(lane + ${i * S}u, ${values - 1}u);`);
    pre.push(`  let vt${i} = g * ${py}u + min(ob * ${to}u + v${i} % ${to}u, ${py - 1}u); let vj${i} = v${i} / ${to}u;`);
  }
  for (let u = 0; u < ti; u++)
    for (let e = 0; e < kW; e++) for (let q = 0; q < Q; q++) pre.push(`  var acc${u}_${e}_${q} = ${tile.type}(0.0);`);
  const body: string[] = [];
  for (let i = 0; i < registers; i++) {
    body.push(`      let gp${i} = ow0 + vj${i};`);
    body.push(
      `      let gr${i} = select(0.0, gy[(n * ${geom.cy}u + vt${i}) * ${Do * Ho * Wo}u + yrow + min(gp${i}, ${Wo - 1}u)], gp${i} < ${Wo}u);`,
    );
  }
  const comps = (v: number) => `subgroupBroadcast(gr${Math.floor(v / S)}, ${v % S}u)`;
  for (let j = 0; j < TW; j++)
    for (let q = 0; q < Q; q++) {
      const parts = Array.from({ length: Math.min(4, to) }, (_, t) => comps(j * to + 4 * q + t));
      body.push(`      let gv${j}_${q} = ${to === 1 ? parts[0] : `vec4<f32>(${parts.join(', ')})`};`);
    }
  body.push(`      let iw0 = i32(ow0 * ${sW}u) - ${pW};`);
  offsets.forEach((o, r) => {
    body.push(
      `      let p${r} = iw0 + ${o}; let m${r} = inRow && p${r} >= 0 && p${r} < ${W}; let c${r} = u32(clamp(p${r}, 0, ${W - 1}));`,
    );
    for (let u = 0; u < ti; u++) body.push(`      let x${u}_${r} = select(0.0, x[xrow${u} + c${r}], m${r});`);
  });
  for (let u = 0; u < ti; u++)
    for (let e = 0; e < kW; e++)
      for (let j = 0; j < TW; j++) {
        const r = slot.get(j * sW + e * dW);
        for (let q = 0; q < Q; q++)
          body.push(`      acc${u}_${e}_${q} = fma(gv${j}_${q}, ${tile.splat(`x${u}_${r}`)}, acc${u}_${e}_${q});`);
      }
  const stores: string[] = [];
  for (let t = 0; t < to; t++)
    for (let u = 0; u < ti; u++) {
      stores.push(`    if (ob * ${to}u + ${t}u < ${py}u && ib * ${ti}u + ${u}u < ${px}u) {`);
      stores.push(
        `      let wi = ${chunks > 1 ? 'chunk * ' + weightNumel + 'u + ' : ''}(((g * ${py}u + ob * ${to}u + ${t}u) * ${px}u + ib * ${ti}u + ${u}u) * ${kD}u + a) * ${kH * kW}u + b * ${kW}u;`,
      );
      for (let e = 0; e < kW; e++)
        stores.push(`      part[wi + ${e}u] = ${tile.lane(`acc${u}_${e}_${tile.chunkOf(t)}`, t)};`);
      stores.push('    }');
    }
  const wgsl = `enable subgroups;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let chunk = wid.z;
  let g = wid.y / ${oBlocks}u;
  let ob = wid.y % ${oBlocks}u;
  let li = wid.x * ${WG}u + lidx;
  // No early return and no skipped rows: every lane takes part in every broadcast. Stores are guarded instead.
  let inRange = li < ${lanes}u;
${decode(
  `min(li, ${lanes - 1}u)`,
  [
    ['b', kH],
    ['a', kD],
  ],
  'ib',
)}
${pre.join('\n')}
  let rowEnd = min(${rows}u, (chunk + 1u) * ${chunkRows}u);
  for (var rw = chunk * ${chunkRows}u; rw < rowEnd; rw++) {
    let n = rw / ${Do * Ho}u;
    let od = (rw / ${Ho}u) % ${Do}u;
    let oh = rw % ${Ho}u;
    let id = i32(od * ${sD}u) - ${pD} + i32(a) * ${dD};
    let ih = i32(oh * ${sH}u) - ${pH} + i32(b) * ${dH};
    let inRow = id >= 0 && id < ${D} && ih >= 0 && ih < ${H};
    let yrow = (od * ${Ho}u + oh) * ${Wo}u;
    let xr = (u32(clamp(id, 0, ${D - 1})) * ${H}u + u32(clamp(ih, 0, ${H - 1}))) * ${W}u;
${Array.from({ length: ti }, (_, u) => `    let xrow${u} = (n * ${geom.cx}u + ic${u}) * ${D * H * W}u + xr;`).join('\n')}
    for (var wbk = 0u; wbk < ${wBlocks}u; wbk++) {
      let ow0 = wbk * ${TW}u;
${body.join('\n')}
    }
  }
  if (inRange) {
${stores.join('\n')}
  }
}`;
  return { wgsl, total: lanes * geom.groups * oBlocks * chunks, weightNumel };
}

/** Sums `chunks` partial weight gradients laid out (chunks, numel). */
function sumChunks(part: Tensor, chunks: number, shape: readonly number[], name: string): Tensor {
  const numel = part.size / chunks;
  const out = empty(shape, 'f32', name);
  const { workgroups, rowStride } = grid1d(numel);
  const wgsl = `@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${numel}u) { return; }
  var s = 0.0;
  for (var c = 0u; c < ${chunks}u; c++) { s += part[c * ${numel}u + i]; }
  out[i] = s;
}`;
  runKernel(`${name}.sumChunks`, wgsl, [part], [out], workgroups);
  return out;
}

/** gW (CY, CX/G, kD, kH, kW) from X (N, CX, D, H, W) and gY (N, CY, D', H', W'), both contiguous. */
export function runWeightGrad(
  geom: ConvGeometry,
  x: Tensor,
  gy: Tensor,
  variant: WeightGradVariant,
  name: string,
  chunksOverride?: number,
): Tensor {
  const shape = [geom.cy, cpgX(geom), ...geom.kernel];
  const subgroup = weightGradSubgroup(variant);
  const { to, ti } = tilesFor(geom, variant, subgroup);
  const perChunk =
    geom.groups * Math.ceil(cpgY(geom) / to) * Math.ceil(cpgX(geom) / ti) * geom.kernel[0] * geom.kernel[1];
  const rows = geom.n * geom.yDims[0] * geom.yDims[1];
  const chunks = chunksOverride ?? reductionChunks(perChunk, rows);
  const grid = subgroup ? subgroupGrid(geom, chunks, to, ti, subgroup) : null;
  const { wgsl, total, weightNumel } = grid
    ? weightGradSubgroupWgsl(geom, chunks, subgroup)
    : weightGradWgsl(geom, variant, chunks);
  const part = empty(chunks > 1 ? [chunks * weightNumel] : shape, 'f32', name);
  const workgroups = grid ?? launchGrid(total).workgroups;
  runKernel(`${name}.weightGrad.${variant}`, wgsl, [x, gy], [part], workgroups);
  if (chunks === 1) return part;
  const out = sumChunks(part, chunks, shape, name);
  part.dispose();
  return out;
}
