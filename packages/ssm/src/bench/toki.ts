/**
 * TOKI benchmarks (issue 4): forward+backward at C = 384 (MambaMIM's deepest width), L = 216 (6³) and
 * L = 4096 (16³), mask ratio 0.75, batch 2. The peer is `tokiRef` (the same op composed from generic
 * @mim/tensor ops) where it finishes in reasonable time. `per_token_us` shows the cost per position, which
 * stays flat when the cost grows linearly with L.
 */
import { memory, mul, resetPeakBytes, sum, sync, type Tensor, tensor } from '@mim/tensor';
import { type BenchResult, measure, result } from '@mim/tensor/bench';
import { toki } from '../toki/toki.js';
import { tokiRef } from '../toki/toki-ref.js';

const C = 384;
const BATCH = 2;
const RATIO = 0.75;

/** A seeded mask with exactly round(ratio·L) masked positions per row. */
function mask(L: number, seed: number): Uint32Array {
  const out = new Uint32Array(BATCH * L).fill(1);
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let b = 0; b < BATCH; b++) {
    const order = Array.from({ length: L }, (_, i) => i);
    for (let i = L - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order.slice(0, Math.round(RATIO * L))) out[b * L + i] = 0;
  }
  return out;
}

function randomData(n: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * scale;
  });
}

type Row = BenchResult & { per_token_us?: number; peer_skipped?: string };

export async function tokiBenches(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const L of [216, 4096]) {
    const vis = mask(L, L);
    const F = tensor(randomData(BATCH * C * L, 1, 1), [BATCH, C, L]).requireGrad();
    const A = tensor(randomData(C * C, 2, 0.05), [C, C]).requireGrad();
    const visible = tensor(vis, [BATCH, L], { dtype: 'u32' });
    const upstream = tensor(randomData(BATCH * C * L, 3, 1), [BATCH, C, L]);
    const step = (fn: () => Tensor) => () => {
      const out = fn();
      const loss = sum(mul(out, upstream));
      loss.backward();
      for (const t of [out, loss, F.grad, A.grad]) t?.dispose();
      F.grad = null;
      A.grad = null;
    };
    const fused = step(() => toki(F, visible, A));
    resetPeakBytes();
    const before = memory().bytesInUse;
    // No warm-up at L = 4096 (a few seconds a run on lavapipe at C = 384): the recurrence kernels take L from a
    // uniform, so the L = 216 warm-up compiled them; the median of 3 hides the small per-length kernels' compile.
    const ours = await measure(fused, sync, L > 1000 ? { warmup: 0, reps: 3 } : { warmup: 1, reps: 3 });
    const peak = memory().peakBytes - before;
    let peerMs: number | null = null;
    let skipped: string | undefined;
    if (L <= 216) {
      peerMs = (
        await measure(
          step(() => tokiRef(F, vis, A)),
          sync,
          { warmup: 1, reps: 2 },
        )
      ).medianMs;
    } else {
      skipped = 'tokiRef issues O(L) small dispatches per sample; at L = 4096 it takes minutes';
    }
    const row: Row = result({
      name: 'toki-fwdbwd',
      shape: `b${BATCH}-c${C}-L${L}-r${RATIO}`,
      oursMs: ours.medianMs,
      peer: 'composite',
      peerMs,
      peakBytes: peak,
    });
    row.per_token_us = Math.round((ours.medianMs * 1000) / (BATCH * L));
    if (skipped) row.peer_skipped = skipped;
    rows.push(row);
    for (const t of [F, A, visible, upstream]) t.dispose();
  }
  return rows;
}
