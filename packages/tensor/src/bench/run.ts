/**
 * `npm run bench -w @mim/tensor`: matmul, an elementwise chain, a binary op, a reduction and a plain copy
 * kernel, each against TF.js's WebGPU backend on the same device where it has the op, in one run. Prints a
 * table and writes `<repo root>/bench-results/tensor.json`.
 *
 * `MIM_BENCH_ONLY=matmul,add npm run bench -w @mim/tensor` runs only the rows whose name starts with one of the
 * comma-separated words (`matmul` also takes `matmul-batched`; the layer sections are conv3d, depthwise,
 * convTranspose3d, norm, attention, adamw) and leaves the results file alone, since the run is partial.
 * `MIM_BENCH_TILES=…` runs the matmul register-tile sweep instead (`matmul-tiles.ts` says how).
 */
import { memory, resetPeakBytes, sync } from '../memory.js';
import { add, mul } from '../ops/elementwise/binary.js';
import { relu } from '../ops/elementwise/unary.js';
import { matmul } from '../ops/matmul/matmul.js';
import { sum } from '../ops/reduce/reduce.js';
import { rand } from '../random/random.js';
import { init } from '../runtime/device.js';
import { empty, grid1d, runKernel } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { type BenchResult, measure, printTable, result, writeResults } from './harness.js';
import { layerBenches } from './layers.js';
import { matmulTileSweep, parseTile } from './matmul-tiles.js';
import { type TfjsPeer, tfjsPeer } from './tfjs-peer.js';

type TfTensor = ReturnType<TfjsPeer['tf']['tensor']>;

interface Case {
  name: string;
  shape: string;
  ours: () => void;
  peer?: () => void;
  flops?: number;
  bytes?: number;
  reps: number;
  warmup?: number;
  inner?: number;
}

/** A plain vec4 copy: the bandwidth baseline for memory-bound kernels. */
function copyKernel(src: Tensor, dst: Tensor): void {
  const n4 = src.size / 4;
  const { workgroups, rowStride } = grid1d(n4);
  const wgsl = `@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i < ${n4}u) { dst[i] = src[i]; }
}`;
  runKernel('bench_copy', wgsl, [src], [dst], workgroups);
}

const only = process.env.MIM_BENCH_ONLY?.split(',')
  .map((word) => word.trim())
  .filter(Boolean);
const wanted = (name: string) => !only || only.some((word) => name.startsWith(word));
const layerSections = ['conv3d', 'depthwise', 'convTranspose3d', 'norm', 'attention', 'adamw'];

async function main(): Promise<void> {
  const started = performance.now();
  await init();
  const tiles = process.env.MIM_BENCH_TILES;
  if (tiles) {
    const peerWanted = process.env.MIM_BENCH_PEER !== '0';
    await matmulTileSweep(peerWanted ? await tfjsPeer() : null, {
      tiles: tiles.split(',').map(parseTile),
      sizes: (process.env.MIM_BENCH_SIZES ?? '1024').split(',').map(Number),
      reps: Number(process.env.MIM_BENCH_REPS ?? 5),
      layouts: process.env.MIM_BENCH_TRANSPOSE_A === '1' ? [false, true] : [false],
    });
    return;
  }
  const peer = await tfjsPeer();
  const tf = peer?.tf;
  const waitPeer = async () => peer?.wait();
  const ours: Tensor[] = [];
  const theirs: TfTensor[] = [];
  const uniform = (shape: number[], seed: number) => {
    const t = rand(shape, { seed, low: -1, high: 1 });
    ours.push(t);
    return t;
  };
  const peerUniform = (shape: number[]) => {
    if (!tf) return null;
    const t = tf.randomUniform(shape, -1, 1);
    theirs.push(t);
    return t;
  };

  const cases: Case[] = [];
  const matmulCase = (batch: number, M: number, K: number, N: number, reps: number) => {
    const lead = batch > 1 ? [batch] : [];
    const a = uniform([...lead, M, K], 1);
    const b = uniform([...lead, K, N], 2);
    const pa = peerUniform([...lead, M, K]);
    const pb = peerUniform([...lead, K, N]);
    cases.push({
      name: batch > 1 ? 'matmul-batched' : 'matmul',
      shape: `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N}`,
      ours: () => matmul(a, b).dispose(),
      peer: tf && pa && pb ? () => tf.matMul(pa, pb).dispose() : undefined,
      flops: 2 * batch * M * N * K,
      reps,
      warmup: reps > 3 ? 2 : 1,
    });
  };
  matmulCase(1, 256, 256, 256, 15);
  matmulCase(1, 1024, 1024, 1024, 5);
  matmulCase(1, 2048, 2048, 2048, 3);
  matmulCase(8, 512, 512, 512, 3);

  const n = 1 << 22;
  const x = uniform([n], 3);
  const y = uniform([n], 4);
  const z = uniform([n], 5);
  const px = peerUniform([n]);
  const py = peerUniform([n]);
  const pz = peerUniform([n]);
  const copyOut = empty([n]);
  ours.push(copyOut);
  cases.push({ name: 'copy', shape: `${n}`, ours: () => copyKernel(x, copyOut), bytes: 8 * n, reps: 9, inner: 4 });
  cases.push({
    name: 'add',
    shape: `${n}`,
    ours: () => add(x, y).dispose(),
    peer: tf && px && py ? () => tf.add(px, py).dispose() : undefined,
    bytes: 12 * n,
    reps: 9,
    inner: 4,
  });
  cases.push({
    name: 'elementwise-chain',
    shape: `relu(x*y+z) ${n}`,
    ours: () => {
      const product = mul(x, y);
      const total = add(product, z);
      relu(total).dispose();
      product.dispose();
      total.dispose();
    },
    peer: tf && px && py && pz ? () => tf.tidy(() => tf.relu(tf.add(tf.mul(px, py), pz))).dispose() : undefined,
    // Bytes of the three unfused kernels: mul and add read 2 and write 1, relu reads 1 and writes 1.
    bytes: 32 * n,
    reps: 9,
    inner: 2,
  });
  const rows = uniform([4096, 1024], 6);
  const peerRows = peerUniform([4096, 1024]);
  cases.push({
    name: 'sum-last-axis',
    shape: '4096x1024',
    ours: () => sum(rows, -1).dispose(),
    peer: tf && peerRows ? () => tf.sum(peerRows, -1).dispose() : undefined,
    bytes: 4 * 4096 * 1024,
    reps: 9,
    inner: 4,
  });
  cases.push({
    name: 'sum-all',
    shape: `${n}`,
    ours: () => sum(x).dispose(),
    peer: tf && px ? () => tf.sum(px).dispose() : undefined,
    bytes: 4 * n,
    reps: 9,
    inner: 4,
  });
  await sync();
  await waitPeer();

  const results: BenchResult[] = [];
  for (const c of cases.filter((entry) => wanted(entry.name))) {
    const options = { reps: c.reps, warmup: c.warmup ?? 2, inner: c.inner ?? 1 };
    await sync();
    resetPeakBytes();
    const before = memory().peakBytes;
    const mine = await measure(c.ours, sync, options);
    const peakBytes = memory().peakBytes - before;
    const other = c.peer ? await measure(c.peer, waitPeer, options) : null;
    const row = result({
      name: c.name,
      shape: c.shape,
      oursMs: mine.medianMs,
      peer: other ? (peer?.name ?? null) : null,
      peerMs: other?.medianMs ?? null,
      flops: c.flops,
      bytes: c.bytes,
      peakBytes,
    });
    results.push(row);
    console.log(
      `${row.name} ${row.shape}: ours ${row.ours_ms} ms${other ? `, ${row.peer} ${row.peer_ms} ms (${row.ratio}x)` : ''}`,
    );
  }
  for (const t of ours) t.dispose();
  for (const t of theirs) t.dispose();
  results.push(...(await layerBenches(peer, copyKernel, only ? { only: layerSections.filter(wanted) } : {})));

  printTable(results, `@mim/tensor benchmarks (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const mm = results.find((r) => r.name === 'matmul' && r.shape === '1024x1024x1024');
  const copyRow = results.find((r) => r.name === 'copy');
  const addRow = results.find((r) => r.name === 'add');
  if (mm?.ratio != null) console.log(`matmul 1024³ vs tfjs-webgpu: ${mm.ratio}x (target ≥ 3x)`);
  if (copyRow?.gbps && addRow?.gbps) {
    console.log(`add bandwidth / copy bandwidth: ${(addRow.gbps / copyRow.gbps).toFixed(2)} (target ≥ 0.5)`);
  }
  if (only) {
    console.log(`MIM_BENCH_ONLY=${only.join(',')}: partial run, bench-results/tensor.json left as it was`);
    return;
  }
  const path = await writeResults('tensor', results);
  console.log(`wrote ${path}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
