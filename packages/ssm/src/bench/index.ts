/**
 * `npm run bench -w @mim/ssm`: selectiveScan forward and forward+backward for (batch 2, dim 768, N 16) at
 * L = 216, 1024, 4096, 16384, against the composite selectiveScanRef (one step per time index) measured in the
 * same run. Prints a table and writes `<repo root>/bench-results/ssm.json`.
 *
 * Fields beyond the shared schema: `scaling` = time(4L)/time(L) of the fused op (linear ≈ 4), `chunks` (the
 * chunk count the default plan picked), `peer_peak_bytes` (the composite's peak memory above its inputs, where it
 * was timed) and `peer_skipped` (why the composite was not timed at that size).
 */
import { fromTypedArray, init, memory, noGrad, resetPeakBytes, sync, type Tensor } from '@mim/tensor';
import { type BenchResult, measure, printTable, result, writeResults } from '@mim/tensor/bench';
import { planScan, type SelectiveScanOptions, selectiveScan } from '../scan/selective-scan.js';
import { selectiveScanRef } from '../scan/selective-scan-ref.js';
import { tokiBenches } from './toki.js';

const BATCH = 2;
const DIM = 768;
const STATE = 16;
const LENGTHS = [216, 1024, 4096, 16384];
/** The composite is skipped where its estimated time exceeds this (it grows linearly with L). */
const COMPOSITE_BUDGET_MS = 45_000;
/**
 * …or its estimated peak memory exceeds this. The composite's forward alone grows linearly with L, its
 * forward+backward with L²: the backward of each step's indexSelect is a full-size (batch, dim, L) gradient for
 * Δ, u, B and C, and backward() frees a node's summed gradient once the node has run but keeps each of the L
 * contributions it added into that sum until it returns. Measured (b2-d768-n16): 0.85 GB at L = 216, 13.9 GB at
 * L = 1024 (and about a minute), so only L = 216 fits.
 */
const COMPOSITE_MEMORY_BUDGET = 4e9;
/** Exponent of the composite's peak-memory growth with L, per mode (see COMPOSITE_MEMORY_BUDGET). */
const COMPOSITE_MEMORY_GROWTH = { fwd: 1, fwdbwd: 2 } as const;
/** The composite forward at L = 16384 crashes the process (segfault inside Dawn/lavapipe) on the CI adapter. */
const COMPOSITE_MAX_LEN = 4096;

type Row = BenchResult & {
  scaling?: number | null;
  chunks?: number;
  peer_peak_bytes?: number;
  peer_skipped?: string;
};

/** mulberry32 uniforms in [low, high). */
function uniform(n: number, seed: number, low: number, high: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = low + (high - low) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

interface Inputs {
  u: Tensor;
  delta: Tensor;
  A: Tensor;
  B: Tensor;
  C: Tensor;
  options: SelectiveScanOptions;
  dout: Tensor;
  all: Tensor[];
}

/** Mamba-like inputs: A = −(1..N) (S4D-real), D = 1, softplus(delta + bias) around 0.01–0.7. */
function makeInputs(len: number, grad: boolean): Inputs {
  const bdl = BATCH * DIM * len;
  const bnl = BATCH * STATE * len;
  const A = new Float32Array(DIM * STATE);
  for (let i = 0; i < A.length; i++) A[i] = -(1 + (i % STATE));
  const t = (data: Float32Array, shape: number[]) => {
    const x = fromTypedArray(data, shape);
    return grad ? x.requireGrad() : x;
  };
  const u = t(uniform(bdl, 1, -1, 1), [BATCH, DIM, len]);
  const delta = t(uniform(bdl, 2, -4, 0), [BATCH, DIM, len]);
  const inputs = {
    u,
    delta,
    A: t(A, [DIM, STATE]),
    B: t(uniform(bnl, 3, -1, 1), [BATCH, STATE, len]),
    C: t(uniform(bnl, 4, -1, 1), [BATCH, STATE, len]),
    options: {
      D: t(new Float32Array(DIM).fill(1), [DIM]),
      z: t(uniform(bdl, 5, -2, 2), [BATCH, DIM, len]),
      deltaBias: t(uniform(DIM, 6, -1, 1), [DIM]),
      deltaSoftplus: true,
    },
    dout: fromTypedArray(uniform(bdl, 7, -1, 1), [BATCH, DIM, len]),
    all: [] as Tensor[],
  };
  inputs.all = [inputs.u, inputs.delta, inputs.A, inputs.B, inputs.C, inputs.dout];
  for (const o of [inputs.options.D, inputs.options.z, inputs.options.deltaBias]) if (o) inputs.all.push(o);
  return inputs;
}

type Scan = typeof selectiveScan;

function forwardOnly(scan: Scan, x: Inputs): void {
  noGrad(() => scan(x.u, x.delta, x.A, x.B, x.C, x.options).dispose());
}

function forwardBackward(scan: Scan, x: Inputs): void {
  const out = scan(x.u, x.delta, x.A, x.B, x.C, x.options);
  out.backward(x.dout);
  out.dispose();
  for (const t of x.all) {
    t.grad?.dispose();
    t.grad = null;
  }
}

/** Minimum bytes: every input read once, every output written once (f32). */
function minimumBytes(len: number, backward: boolean): number {
  const bdl = BATCH * DIM * len;
  const bnl = BATCH * STATE * len;
  const small = DIM * STATE + 2 * DIM;
  const forward = 4 * (3 * bdl + 2 * bnl + small + bdl);
  if (!backward) return forward;
  // + backward: read u, delta, z, B, C, params, dout; write du, ddelta, dz, dB, dC, dA, dD, dbias.
  return forward + 4 * (4 * bdl + 2 * bnl + small + 3 * bdl + 2 * bnl + small);
}

async function main(): Promise<void> {
  const started = performance.now();
  await init();
  const fused = { fwd: new Map<number, number>(), fwdbwd: new Map<number, number>() };
  const composite = { fwd: new Map<number, number>(), fwdbwd: new Map<number, number>() };
  const skipped = new Map<string, string>();
  const compositePeak = { fwd: new Map<number, number>(), fwdbwd: new Map<number, number>() };
  // 864 = 4·216 only gives the scaling of the L = 216 row.
  for (const len of [...LENGTHS, 864].sort((a, b) => a - b)) {
    for (const mode of ['fwd', 'fwdbwd'] as const) {
      const x = makeInputs(len, mode === 'fwdbwd');
      const run = mode === 'fwd' ? () => forwardOnly(selectiveScan, x) : () => forwardBackward(selectiveScan, x);
      const reps = len >= 16384 ? 3 : 5;
      const ours = await measure(run, sync, { warmup: 1, reps });
      fused[mode].set(len, ours.medianMs);
      if (LENGTHS.includes(len)) {
        const previous = [...composite[mode].entries()].pop();
        const estimate = previous ? (previous[1] * len) / previous[0] : 0;
        const peakEstimate = previous
          ? compositePeak[mode].get(previous[0])! * (len / previous[0]) ** COMPOSITE_MEMORY_GROWTH[mode]
          : 0;
        if (len > COMPOSITE_MAX_LEN) {
          skipped.set(
            `${mode}-${len}`,
            `L > ${COMPOSITE_MAX_LEN}: the composite crashes the process (segfault in Dawn/lavapipe)`,
          );
        } else if (estimate > COMPOSITE_BUDGET_MS) {
          skipped.set(`${mode}-${len}`, `estimated ${(estimate / 1000).toFixed(0)} s from L = ${previous![0]}`);
        } else if (peakEstimate > COMPOSITE_MEMORY_BUDGET) {
          skipped.set(
            `${mode}-${len}`,
            `estimated peak ${(peakEstimate / 1e9).toFixed(1)} GB from L = ${previous![0]} (grows with L${mode === 'fwdbwd' ? "²: backward() keeps every step's full-size gradient contributions until it returns" : ''})`,
          );
        } else {
          const peerRun =
            mode === 'fwd' ? () => forwardOnly(selectiveScanRef, x) : () => forwardBackward(selectiveScanRef, x);
          await sync();
          resetPeakBytes();
          const base = memory().bytesInUse;
          const peer = await measure(peerRun, sync, { warmup: len <= 1024 ? 1 : 0, reps: len <= 216 ? 3 : 1 });
          compositePeak[mode].set(len, memory().peakBytes - base);
          composite[mode].set(len, peer.medianMs);
        }
      }
      for (const t of x.all) t.dispose();
      await sync();
      console.error(`  ${mode} L=${len}: ${ours.medianMs.toFixed(1)} ms`);
    }
  }
  const rows: Row[] = [];
  for (const mode of ['fwd', 'fwdbwd'] as const) {
    for (const len of LENGTHS) {
      const ours = fused[mode].get(len)!;
      const four = fused[mode].get(4 * len);
      const peerMs = composite[mode].get(len) ?? null;
      const plan = planScan({ batch: BATCH, dim: DIM, len, state: STATE, groups: 1, ungrouped: true }, true);
      const row: Row = {
        ...result({
          name: `selectiveScan-${mode}`,
          shape: `b${BATCH}-d${DIM}-n${STATE}-L${len}`,
          oursMs: ours,
          peer: 'composite',
          peerMs,
          bytes: minimumBytes(len, mode === 'fwdbwd'),
        }),
        scaling: four === undefined ? null : Number((four / ours).toFixed(3)),
        chunks: plan.chunks,
      };
      const peerPeak = compositePeak[mode].get(len);
      if (peerPeak !== undefined) row.peer_peak_bytes = peerPeak;
      if (peerMs === null) {
        row.peer = 'composite';
        row.peer_skipped = skipped.get(`${mode}-${len}`) ?? 'not measured';
      }
      rows.push(row);
    }
  }
  rows.push(...(await tokiBenches()));
  printTable(rows, `@mim/ssm selective scan and TOKI (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  for (const r of rows)
    console.log(
      `  ${r.name} ${r.shape}: scaling ${r.scaling ?? '-'}${r.peer_skipped ? `, composite skipped (${r.peer_skipped})` : ''}`,
    );
  const path = await writeResults('ssm', rows);
  console.log(`→ ${path}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
