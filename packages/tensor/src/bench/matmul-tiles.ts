/**
 * Register-tile sweep for the matmul kernel: times each tile shape on the same square problems in one process,
 * in rounds (every tile once, then again) so that load spikes on a shared CPU hit all tiles alike, with TF.js's
 * WebGPU matmul as a yardstick in the same rounds. Run through the bench entry point:
 *
 *   MIM_BENCH_TILES=32x4x16x1s8,8x8x8x8 MIM_BENCH_SIZES=1024,2048 npm run bench -w @mim/tensor
 *
 * A tile is written TMxTNxWGXxWGY, with sS appended to share A over subgroups of S lanes (see `RegisterTile`);
 * MIM_BENCH_REPS sets the rounds (default 5) and MIM_BENCH_PEER=0 leaves TF.js out. Besides wall-clock time it
 * prints the process CPU time per call: on a CPU adapter shared with other jobs, GFLOP per CPU-second moves
 * much less with the load than GFLOP/s does. The table in `registerTileFor` came from this sweep.
 */
import { sync } from '../memory.js';
import { type RegisterTile, setRegisterTile } from '../ops/matmul/kernel.js';
import { matmul, setMatmulVariant } from '../ops/matmul/matmul.js';
import { rand } from '../random/random.js';
import { measure } from './harness.js';
import type { TfjsPeer } from './tfjs-peer.js';

/** `TMxTNxWGXxWGY`, with `sS` appended to share A over subgroups of S lanes (e.g. `32x4x16x1s8`). */
export function parseTile(text: string): RegisterTile {
  const [dims, subgroup] = text.trim().split('s');
  const [TM, TN, WGX, WGY] = dims.split('x').map(Number);
  if (![TM, TN, WGX, WGY].every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`matmul tile sweep: '${text}' is not TMxTNxWGXxWGY[sS], e.g. 32x4x16x1s8`);
  }
  return { TM, TN, WGX, WGY, ...(subgroup ? { subgroup: Number(subgroup) } : {}) };
}

export interface TileSweepOptions {
  tiles: RegisterTile[];
  /** Square problem sizes (M = N = K). */
  sizes: number[];
  /** Rounds; each tile's median and best are printed. */
  reps: number;
  /** transposeA settings to time each tile with: [false] (default) reads A as (M, K), true as (K, M). */
  layouts?: boolean[];
}

interface Entry {
  name: string;
  run: () => unknown;
  wait: () => Promise<unknown>;
  wallMs: number[];
  cpuMs: number[];
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1];

/** Prints one line per (size, tile) and one for TF.js. Call after `init()`. */
export async function matmulTileSweep(peer: TfjsPeer | null, options: TileSweepOptions): Promise<void> {
  const previous = setMatmulVariant('register');
  try {
    for (const size of options.sizes) {
      const flops = 2 * size ** 3;
      const a = rand([size, size], { seed: 1, low: -1, high: 1 });
      const b = rand([size, size], { seed: 2, low: -1, high: 1 });
      const pa = peer?.tf.randomUniform([size, size], -1, 1);
      const pb = peer?.tf.randomUniform([size, size], -1, 1);
      const entries: Entry[] = [];
      if (peer && pa && pb) {
        const run = () => peer.tf.matMul(pa, pb).dispose();
        entries.push({ name: peer.name, run, wait: peer.wait, wallMs: [], cpuMs: [] });
      }
      for (const tile of options.tiles) {
        for (const transposeA of options.layouts ?? [false]) {
          const run = () => {
            setRegisterTile(tile);
            matmul(a, b, { transposeA }).dispose();
          };
          const name = `${tile.TM}x${tile.TN} on ${tile.WGX}x${tile.WGY}${tile.subgroup ? ` s${tile.subgroup}` : ''}${transposeA ? ' Aᵀ' : ''}`;
          entries.push({ name, run, wait: sync, wallMs: [], cpuMs: [] });
        }
      }
      for (const entry of entries) await measure(entry.run, entry.wait, { reps: 1, warmup: 1 });
      for (let round = 0; round < options.reps; round++) {
        for (const entry of entries) {
          const before = process.cpuUsage();
          entry.wallMs.push((await measure(entry.run, entry.wait, { reps: 1, warmup: 0 })).medianMs);
          const used = process.cpuUsage(before);
          entry.cpuMs.push((used.user + used.system) / 1000);
        }
      }
      const gflops = (ms: number) => (flops / ms / 1e6).toFixed(2);
      for (const entry of entries) {
        const wall = median(entry.wallMs);
        const cpu = median(entry.cpuMs);
        console.log(
          `${size}³ ${entry.name.padEnd(16)} ${wall.toFixed(1)} ms ${gflops(wall)} GFLOP/s (best ${gflops(Math.min(...entry.wallMs))}), CPU ${cpu.toFixed(1)} ms: ${gflops(cpu)} GFLOP per CPU-s`,
        );
      }
      for (const t of [a, b]) t.dispose();
      pa?.dispose();
      pb?.dispose();
    }
  } finally {
    setRegisterTile(null);
    setMatmulVariant(previous);
  }
}
