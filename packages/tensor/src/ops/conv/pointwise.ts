/**
 * 1×1×1 convolution (stride 1, no padding, one group) as a batched matmul over channels:
 * out[n, r, v] = Σ_c A[r, c] · in[n, c, v]. Forward: A = weight (CY, CX); input gradient: A = weightᵀ.
 * Each invocation computes a T-channel × 4·VB-voxel tile: vec4 loads of the input along the voxels, vec4 loads
 * of T packed weights, outer-product FMAs into T·VB vec4 accumulators, vec4 stores. Needs D·H·W % 4 = 0.
 */
import { empty, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import type { ConvGeometry } from './geometry.js';
import { channelTile, decode, entry, launchGrid, type PackOrientation, packBlocks, packWeight } from './pack.js';

const TILE_CHANNELS = 8;
const VOXEL_VEC4S = 2;

/** True when the geometry is a 1×1×1 conv that the pointwise kernel can run. */
export function isPointwise(geom: ConvGeometry): boolean {
  const volume = geom.xDims[0] * geom.xDims[1] * geom.xDims[2];
  return (
    geom.groups === 1 &&
    geom.kernel.every((k) => k === 1) &&
    geom.stride.every((s) => s === 1) &&
    geom.padding.every((p) => p === 0) &&
    volume % 4 === 0
  );
}

/** Runs the pointwise kernel; `orientation` 'forward' maps X → Y, 'transposed' maps Y → X. */
export function runPointwise(
  geom: ConvGeometry,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  orientation: PackOrientation,
  name: string,
): Tensor {
  const forward = orientation === 'forward';
  const cIn = forward ? geom.cx : geom.cy;
  const cOut = forward ? geom.cy : geom.cx;
  const dims = forward ? geom.yDims : geom.xDims;
  const out = empty([geom.n, cOut, ...dims], 'f32', name);
  if (out.size === 0) return out;
  const tile = channelTile(TILE_CHANNELS);
  const packed = packWeight(weight, geom, orientation, tile.size);
  const blocks = packBlocks(geom, orientation, tile.size);
  const s4 = (dims[0] * dims[1] * dims[2]) / 4;
  const VB = VOXEL_VEC4S;
  const vBlocks = Math.ceil(s4 / VB);
  const total = geom.n * blocks * vBlocks;
  const { workgroups, rowStride } = launchGrid(total);
  const lines: string[] = [];
  for (let v = 0; v < VB; v++) {
    lines.push(`  let vi${v} = min(vb * ${VB}u + ${v}u, ${s4 - 1}u);`);
    for (let t = 0; t < tile.size; t++) lines.push(`  var acc${v}_${t} = vec4<f32>(0.0);`);
  }
  const inner: string[] = [];
  for (let q = 0; q < tile.chunks; q++) inner.push(`    let w${q} = w[(rb * ${cIn}u + c) * ${tile.chunks}u + ${q}u];`);
  for (let v = 0; v < VB; v++) {
    inner.push(`    let x${v} = inp[xc + vi${v}];`);
    for (let t = 0; t < tile.size; t++) {
      inner.push(`    acc${v}_${t} = fma(x${v}, vec4<f32>(${tile.lane(`w${tile.chunkOf(t)}`, t)}), acc${v}_${t});`);
    }
  }
  const stores: string[] = [];
  for (let t = 0; t < tile.size; t++) {
    const guard = blocks * tile.size !== cOut ? `rb * ${tile.size}u + ${t}u < ${cOut}u` : 'true';
    const biasTerm = bias ? ` + vec4<f32>(bias[rb * ${tile.size}u + ${t}u])` : '';
    stores.push(`  if (${guard}) {`);
    stores.push(`    let ob = (n * ${cOut}u + rb * ${tile.size}u + ${t}u) * ${s4}u;`);
    for (let v = 0; v < VB; v++) {
      const guardV = vBlocks * VB !== s4 ? `if (vb * ${VB}u + ${v}u < ${s4}u) ` : '';
      stores.push(`    ${guardV}{ out[ob + vi${v}] = acc${v}_${t}${biasTerm}; }`);
    }
    stores.push('  }');
  }
  const wgsl = `@group(0) @binding(0) var<storage, read> inp: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> out: array<vec4<f32>>;
${entry(total, rowStride)}
${decode(
  'index',
  [
    ['vb', vBlocks],
    ['rb', blocks],
  ],
  'n',
)}
${lines.join('\n')}
  for (var c = 0u; c < ${cIn}u; c++) {
    let xc = (n * ${cIn}u + c) * ${s4}u;
${inner.join('\n')}
  }
${stores.join('\n')}
}`;
  runKernel(
    `${name}.pointwise.${orientation}`,
    wgsl,
    bias ? [input, packed, bias] : [input, packed],
    [out],
    workgroups,
  );
  packed.dispose();
  return out;
}
