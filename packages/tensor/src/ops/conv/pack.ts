/**
 * Shared pieces of the conv kernels: WGSL helpers for index decoding and the weight-packing kernel.
 *
 * The register-tiled kernels read a block of T channels of the weight with one (or two) vec4 loads. The packer
 * rewrites the weight (CY, CX/G, kD, kH, kW) into (G·blocks, R, kD·kH·kW, T) where T is the tiled channel axis
 * (zero-filled past the group's channel count) and R the reduced channel axis:
 * - 'forward': tiled = small-side channel o, reduced = big-side channel i (conv3d forward),
 * - 'transposed': tiled = big-side channel i, reduced = small-side channel o (conv3d input gradient).
 */
import { empty, grid1d, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { type ConvGeometry, cpgX, cpgY, kernelVolume } from './geometry.js';

/** Workgroup size of the conv kernels (lavapipe runs a workgroup on one thread across SIMD lanes). */
export const CONV_WG = 64;

/** `let name = rest % size; rest = rest / size;` lines decoding a flat index, fastest axis first. */
export function decode(index: string, axes: readonly [string, number][], last: string): string {
  const lines = [`  var rest = ${index};`];
  for (const [name, size] of axes) lines.push(`  let ${name} = rest % ${size}u; rest = rest / ${size}u;`);
  lines.push(`  let ${last} = rest;`);
  return lines.join('\n');
}

/** The opening of every conv kernel: flat invocation index with the bounds check. */
export function entry(total: number, rowStride: number): string {
  return `@compute @workgroup_size(${CONV_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let index = gid.x + gid.y * ${rowStride}u;
  if (index >= ${total}u) { return; }`;
}

export function launchGrid(total: number): { workgroups: [number, number]; rowStride: number } {
  return grid1d(total, CONV_WG);
}

export type PackOrientation = 'forward' | 'transposed';

/** Number of channel blocks of size `tile` per group on the tiled side. */
export function packBlocks(geom: ConvGeometry, orientation: PackOrientation, tile: number): number {
  const tiled = orientation === 'forward' ? cpgY(geom) : cpgX(geom);
  return Math.ceil(tiled / tile);
}

/** Packs `weight` (CY, CX/G, kD, kH, kW) for a kernel tiling `tile` channels of the given side. */
export function packWeight(weight: Tensor, geom: ConvGeometry, orientation: PackOrientation, tile: number): Tensor {
  const k3 = kernelVolume(geom);
  const px = cpgX(geom);
  const py = cpgY(geom);
  const blocks = packBlocks(geom, orientation, tile);
  const reduced = orientation === 'forward' ? px : py;
  const tiledCount = orientation === 'forward' ? py : px;
  const total = geom.groups * blocks * reduced * k3 * tile;
  const out = empty([total], 'f32', 'conv.packWeight');
  const { workgroups, rowStride } = launchGrid(total);
  const source =
    orientation === 'forward'
      ? `((g * ${py}u + lt) * ${px}u + r) * ${k3}u + kk`
      : `((g * ${py}u + r) * ${px}u + lt) * ${k3}u + kk`;
  const wgsl = `@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> packed: array<f32>;
${entry(total, rowStride)}
${decode(
  'index',
  [
    ['t', tile],
    ['kk', k3],
    ['r', reduced],
    ['blk', blocks],
  ],
  'g',
)}
  let lt = blk * ${tile}u + t;
  var v = 0.0;
  if (lt < ${tiledCount}u) { v = w[${source}]; }
  packed[index] = v;
}`;
  runKernel(`conv.packWeight.${orientation}`, wgsl, [weight], [out], workgroups);
  return out;
}

/** WGSL type and helpers for a tile of T channels: vec4 chunks when T is a multiple of 4, else scalars. */
export interface ChannelTile {
  /** Channels per invocation. */
  size: number;
  /** Number of WGSL values holding the tile (T/4 vec4s, or T scalars when T < 4). */
  chunks: number;
  type: 'vec4<f32>' | 'f32';
  /** Expression for channel t of chunk variable `name`. */
  lane(name: string, t: number): string;
  /** Which chunk holds channel t. */
  chunkOf(t: number): number;
  splat(expr: string): string;
}

export function channelTile(size: number): ChannelTile {
  if (size % 4 === 0) {
    const comps = ['x', 'y', 'z', 'w'];
    return {
      size,
      chunks: size / 4,
      type: 'vec4<f32>',
      lane: (name, t) => `${name}.${comps[t % 4]}`,
      chunkOf: (t) => Math.floor(t / 4),
      splat: (expr) => `vec4<f32>(${expr})`,
    };
  }
  if (size !== 1) throw new Error(`channelTile: tile ${size} must be 1 or a multiple of 4`);
  return { size, chunks: 1, type: 'f32', lane: (name) => name, chunkOf: () => 0, splat: (expr) => expr };
}
