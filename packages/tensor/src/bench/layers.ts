/**
 * The layer-set benchmarks (issue 3), run inside `npm run bench -w @mim/tensor` on the same adapter as the
 * foundation ones: conv3d 3×3×3 forward and forward+backward, depthwise 7×7×7 against a 1×1×1 conv,
 * convTranspose3d k2s2, layerNorm / groupNorm against a plain copy, fused attention against TF.js's
 * matMul → softmax → matMul, and one AdamW step over 10M parameters against a copy of the same bytes.
 *
 * Rows follow the harness schema plus a few comparison fields (`fwdbwd_over_fwd`, `vs_pointwise`, `vs_copy`)
 * and the load they were measured under (`loadavg_1m`, `cpu_share` = CPU time this process got ÷ (wall time ×
 * cores): well below 1 means other processes took the CPU and the time is inflated).
 */
import { availableParallelism, loadavg } from 'node:os';
import { memory, resetPeakBytes, sync } from '../memory.js';
import { scaledDotProductAttention } from '../ops/attention/attention.js';
import { conv3d, convTranspose3d } from '../ops/conv/conv3d.js';
import { groupNorm } from '../ops/norm/group-norm.js';
import { layerNorm } from '../ops/norm/layer-norm.js';
import { AdamW } from '../optim/adamw.js';
import { rand } from '../random/random.js';
import { empty } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';
import { type BenchResult, type MeasureOptions, measure, result } from './harness.js';
import type { TfjsPeer } from './tfjs-peer.js';

type Tensor5D = import('@tensorflow/tfjs-core').Tensor5D;

/** A schema row with the layer-set comparison fields. */
export interface LayerBenchResult extends BenchResult {
  /** conv3d-fwdbwd: forward+backward time ÷ forward time (target ≤ 3.5). */
  fwdbwd_over_fwd?: number;
  /** depthwiseConv3d: its time ÷ a 1×1×1 conv3d's on the same (N, C, D, H, W). */
  vs_pointwise?: number;
  /** Memory-bound rows: achieved GB/s ÷ a plain copy's GB/s measured in this run. */
  vs_copy?: number;
  /** os.loadavg()[0] right after our measurement. */
  loadavg_1m: number;
  /** CPU time this process used during our measurement ÷ (wall time × cores). */
  cpu_share: number;
}

/** The plain copy kernel the caller benchmarks as its bandwidth baseline (same byte count: 8 per element). */
export type CopyKernel = (src: Tensor, dst: Tensor) => void;

type TfTensor = ReturnType<TfjsPeer['tf']['tensor']>;

interface Case {
  name: string;
  shape: string;
  ours: () => unknown;
  peer?: () => unknown;
  flops?: number;
  bytes?: number;
  options: MeasureOptions;
  /** Defaults to `options`; the TF.js conv kernels take seconds per call on lavapipe. */
  peerOptions?: MeasureOptions;
}

export interface LayerBenchOptions {
  /** Run only these sections: 'conv3d', 'depthwise', 'convTranspose3d', 'norm', 'attention', 'adamw'. */
  only?: readonly string[];
  /**
   * Also time TF.js's conv3d forward+backward (about 4× its forward: close to two minutes on a loaded 2-core
   * lavapipe machine). Default: the MIM_BENCH_PEER_BACKWARD=1 environment variable.
   */
  peerBackward?: boolean;
}

const round = (value: number, digits = 3) => Number(value.toPrecision(digits));

/**
 * Runs the layer-set benchmarks and returns their rows. `peer` null skips the TF.js columns; `copy` is the
 * bandwidth baseline kernel of the foundation benchmarks (so both use the same one).
 */
export async function layerBenches(
  peer: TfjsPeer | null,
  copy: CopyKernel,
  options: LayerBenchOptions = {},
): Promise<LayerBenchResult[]> {
  const wanted = (section: string) => !options.only || options.only.includes(section);
  const peerBackward = options.peerBackward ?? process.env.MIM_BENCH_PEER_BACKWARD === '1';
  const tf = peer?.tf;
  const waitPeer = async () => peer?.wait();
  const results: LayerBenchResult[] = [];
  const ours: Tensor[] = [];
  const theirs: TfTensor[] = [];
  let seed = 100;
  const uniform = (shape: number[]) => {
    const t = rand(shape, { seed: seed++, low: -1, high: 1 });
    ours.push(t);
    return t;
  };
  // TF.js wants NDHWC activations and (kD, kH, kW, in, out) filters: we create them in that layout directly,
  // outside the timed region (the values do not matter for timing).
  const peerUniform = (shape: number[]) => {
    if (!tf) return null;
    const t = tf.randomUniform(shape, -1, 1);
    theirs.push(t);
    return t;
  };
  const peer5d = (shape: number[]) => peerUniform(shape) as Tensor5D | null;
  const release = async () => {
    await sync();
    await waitPeer();
    for (const t of ours.splice(0)) t.dispose();
    for (const t of theirs.splice(0)) t.dispose();
  };

  const bench = async (c: Case): Promise<LayerBenchResult> => {
    await sync();
    await waitPeer();
    resetPeakBytes();
    const before = memory().peakBytes;
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const mine = await measure(c.ours, sync, c.options);
    const used = process.cpuUsage(cpu);
    const cpuShare = (used.user + used.system) / 1000 / ((performance.now() - wall) * availableParallelism());
    const loadavg1 = loadavg()[0];
    const peakBytes = memory().peakBytes - before;
    const other = c.peer && peer ? await measure(c.peer, waitPeer, c.peerOptions ?? c.options) : null;
    const row: LayerBenchResult = {
      ...result({
        name: c.name,
        shape: c.shape,
        oursMs: mine.medianMs,
        peer: other ? peer?.name : null,
        peerMs: other?.medianMs ?? null,
        flops: c.flops,
        bytes: c.bytes,
        peakBytes,
      }),
      loadavg_1m: round(loadavg1),
      cpu_share: round(cpuShare, 2),
    };
    results.push(row);
    console.log(
      `${row.name} ${row.shape}: ours ${row.ours_ms} ms${other ? `, ${row.peer} ${row.peer_ms} ms (${row.ratio}x)` : ''} [load ${row.loadavg_1m}, cpu share ${row.cpu_share}]`,
    );
    return row;
  };

  /** A copy of `elements` floats (in `pieces` equal buffers: one buffer is capped at 128 MiB). */
  const copyRow = async (elements: number, pieces = 1) => {
    const pairs = Array.from({ length: pieces }, () => {
      const dst = empty([elements / pieces]);
      ours.push(dst);
      return [uniform([elements / pieces]), dst];
    });
    return bench({
      name: 'copy',
      shape: pieces > 1 ? `${pieces}x${elements / pieces}` : `${elements}`,
      ours: () => {
        for (const [src, dst] of pairs) copy(src, dst);
      },
      bytes: 8 * elements,
      options: { reps: 9, warmup: 2, inner: 2 },
    });
  };

  // conv3d 3×3×3, N=2, C 32→32, 48³ ('same' padding), forward and forward+backward.
  if (wanted('conv3d')) {
    const [N, C, S, K] = [2, 32, 48, 3];
    const shape = `n${N}-c${C}-${S}x${S}x${S}-k${K}`;
    const flops = 2 * N * C * C * K ** 3 * S ** 3;
    const x = uniform([N, C, S, S, S]);
    const w = uniform([C, C, K, K, K]);
    const dy = uniform([N, C, S, S, S]);
    const xg = uniform([N, C, S, S, S]).requireGrad();
    const wg = uniform([C, C, K, K, K]).requireGrad();
    const px = peer5d([N, S, S, S, C]);
    const pw = peer5d([K, K, K, C, C]);
    const pdy = peer5d([N, S, S, S, C]);
    const slow = { reps: 3, warmup: 1 };
    // One TF.js call takes 10–30 s here: a single sample (its shader compile is noise at that length).
    const peerSlow = { reps: 1, warmup: 0 };
    const forward = await bench({
      name: 'conv3d',
      shape,
      ours: () => conv3d(x, w, null, { padding: 1 }).dispose(),
      peer: tf && px && pw ? () => tf.conv3d(px, pw, 1, 'same').dispose() : undefined,
      flops,
      options: slow,
      peerOptions: peerSlow,
    });
    const both = await bench({
      name: 'conv3d-fwdbwd',
      shape,
      ours: () => {
        const y = conv3d(xg, wg, null, { padding: 1 });
        y.backward(dy);
        y.dispose();
        for (const leaf of [xg, wg]) {
          leaf.grad?.dispose();
          leaf.grad = null;
        }
      },
      // TF.js's node bundle registers no gradients, so tf.grads cannot run; we call the three kernels its
      // Conv3D gradient would (forward, Conv3DBackpropInputV2 via conv3dTranspose, Conv3DBackpropFilterV2).
      // Off unless asked for (`peerBackward`): one call takes about 4× TF.js's forward.
      peer:
        tf && px && pw && pdy && peerBackward
          ? () =>
              tf.tidy(() => {
                tf.conv3d(px, pw, 1, 'same');
                tf.conv3dTranspose(pdy, pw, px.shape as [number, number, number, number, number], 1, 'same');
                tf.engine().runKernel(
                  'Conv3DBackpropFilterV2',
                  { x: px, dy: pdy },
                  { strides: [1, 1, 1], pad: 'same', filterShape: pw.shape },
                );
              })
          : undefined,
      // forward + input gradient + weight gradient: three convolutions' worth of multiply-adds.
      flops: 3 * flops,
      options: slow,
      peerOptions: peerSlow,
    });
    both.fwdbwd_over_fwd = round(both.ours_ms / forward.ours_ms);
    console.log(`conv3d forward+backward / forward: ${both.fwdbwd_over_fwd} (target ≤ 3.5)`);
    await release();
  }

  // depthwise 7×7×7 (groups = C) against a 1×1×1 conv3d (C → C) on the same (N, C, D, H, W).
  if (wanted('depthwise')) {
    const [N, C, S, K] = [2, 32, 48, 7];
    const x = uniform([N, C, S, S, S]);
    const wd = uniform([C, 1, K, K, K]);
    const wp = uniform([C, C, 1, 1, 1]);
    const px = peer5d([N, S, S, S, C]);
    const pwp = peer5d([1, 1, 1, C, C]);
    const pointwise = await bench({
      name: 'conv3d',
      shape: `n${N}-c${C}-${S}x${S}x${S}-k1`,
      ours: () => conv3d(x, wp).dispose(),
      peer: tf && px && pwp ? () => tf.conv3d(px, pwp, 1, 'same').dispose() : undefined,
      flops: 2 * N * C * C * S ** 3,
      options: { reps: 5, warmup: 1 },
      peerOptions: { reps: 3, warmup: 1 },
    });
    const depthwise = await bench({
      name: 'depthwiseConv3d',
      shape: `n${N}-c${C}-${S}x${S}x${S}-k${K}`,
      ours: () => conv3d(x, wd, null, { padding: 3, groups: C }).dispose(),
      flops: 2 * N * C * K ** 3 * S ** 3,
      options: { reps: 3, warmup: 1 },
    });
    depthwise.vs_pointwise = round(depthwise.ours_ms / pointwise.ours_ms);
    console.log(`depthwise 7³ / pointwise 1³ time: ${depthwise.vs_pointwise} (must be far below 343)`);
    await release();
  }

  // convTranspose3d k2s2: (2, 64, 24³) → (2, 32, 48³).
  if (wanted('convTranspose3d')) {
    const [N, Cin, Cout, S, K] = [2, 64, 32, 24, 2];
    const x = uniform([N, Cin, S, S, S]);
    const w = uniform([Cin, Cout, K, K, K]);
    const px = peer5d([N, S, S, S, Cin]);
    const pw = peer5d([K, K, K, Cout, Cin]);
    await bench({
      name: 'convTranspose3d',
      shape: `n${N}-c${Cin}to${Cout}-${S}x${S}x${S}-k${K}s${K}`,
      ours: () => convTranspose3d(x, w, null, { stride: K }).dispose(),
      peer:
        tf && px && pw
          ? () => tf.conv3dTranspose(px, pw, [N, S * K, S * K, S * K, Cout], K, 'valid').dispose()
          : undefined,
      flops: 2 * N * Cin * Cout * K ** 3 * S ** 3,
      options: { reps: 3, warmup: 1 },
      peerOptions: { reps: 2, warmup: 1 },
    });
    await release();
  }

  // layerNorm (channels-first) and groupNorm on (2, 32, 48³) against a plain copy of the same tensor.
  if (wanted('norm')) {
    const [N, C, S, G] = [2, 32, 48, 8];
    const elements = N * C * S ** 3;
    const shape = `n${N}-c${C}-${S}x${S}x${S}`;
    const x = uniform([N, C, S, S, S]);
    const weight = uniform([C]);
    const bias = uniform([C]);
    const base = await copyRow(elements);
    const options = { reps: 9, warmup: 2, inner: 2 };
    // Bytes: read x once and write y once (the minimum; the kernels may read x more than once).
    const rows = [
      await bench({
        name: 'layerNorm',
        shape,
        ours: () => layerNorm(x, weight, bias, { axis: 'channels' }).dispose(),
        bytes: 8 * elements,
        options,
      }),
      await bench({
        name: 'groupNorm',
        shape: `${shape}-g${G}`,
        ours: () => groupNorm(x, G, weight, bias).dispose(),
        bytes: 8 * elements,
        options,
      }),
    ];
    for (const row of rows) {
      if (row.gbps && base.gbps) row.vs_copy = round(row.gbps / base.gbps);
      console.log(`${row.name} bandwidth / copy bandwidth: ${row.vs_copy}`);
    }
    await release();
  }

  // Fused attention against TF.js matMul(q, kᵀ) → softmax → matMul(·, v). TF.js gets one tensor per batch
  // element: its (B·H, L, L) score matrix at L = 1728 (143 MB) exceeds the 128 MiB storage binding limit.
  for (const L of [216, 1728]) {
    if (!wanted('attention')) break;
    const [B, H, d] = [2, 6, 64];
    const q = uniform([B, H, L, d]);
    const k = uniform([B, H, L, d]);
    const v = uniform([B, H, L, d]);
    const perBatch = () => Array.from({ length: B }, () => peerUniform([H, L, d]));
    const [pq, pk, pv] = [perBatch(), perBatch(), perBatch()];
    const scale = 1 / Math.sqrt(d);
    const long = L > 1000;
    await bench({
      name: 'attention',
      shape: `b${B}-h${H}-L${L}-d${d}`,
      ours: () => scaledDotProductAttention(q, k, v).dispose(),
      peer: tf
        ? () => {
            for (let b = 0; b < B; b++) {
              const [qb, kb, vb] = [pq[b], pk[b], pv[b]] as TfTensor[];
              tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(qb, kb, false, true), scale)), vb)).dispose();
            }
          }
        : undefined,
      flops: 4 * B * H * L * L * d,
      // L = 1728 takes 5–20 s per call here: one timed sample of ours, two of TF.js's.
      options: long ? { reps: 1, warmup: 1 } : { reps: 5, warmup: 1 },
      peerOptions: long ? { reps: 2, warmup: 1 } : { reps: 5, warmup: 1 },
    });
    await release();
  }

  // One AdamW step over 10M parameters in four tensors: reads p, g, m, v and writes p, m, v (28 bytes each).
  if (wanted('adamw')) {
    const shapes = [[2048, 2048], [2048, 2048], [1024, 1536], [38528]];
    const params = shapes.map((s) => uniform(s).requireGrad());
    for (const p of params) p.grad = rand(p.shape, { seed: seed++, low: -1, high: 1 });
    const count = params.reduce((total, p) => total + p.size, 0);
    const optimizer = new AdamW(params, { lr: 1e-3 });
    const bytes = 28 * count;
    const base = await copyRow(bytes / 8, 4);
    const row = await bench({
      name: 'adamw',
      shape: `${count / 1e6}M-params`,
      ours: () => optimizer.step(),
      bytes,
      options: { reps: 7, warmup: 2 },
    });
    if (row.gbps && base.gbps) row.vs_copy = round(row.gbps / base.gbps);
    console.log(`adamw bandwidth / copy bandwidth: ${row.vs_copy} (target ≥ 0.5)`);
    optimizer.zeroGrad();
    for (const t of optimizer.stateDict().tensors.values()) t.dispose();
    await release();
  }
  return results;
}
