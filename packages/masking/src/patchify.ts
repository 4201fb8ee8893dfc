/**
 * Patchify / unpatchify of (B, C, H, W, D) volumes into (B, L, p³·C) token rows, the layout of the
 * masked_mse_normpix fixtures (fixtures/README.md) extended to C channels as SparK / MAE do (channel last):
 *
 *   h = H/p, w = W/p, d = D/p, L = h·w·d, patch q = (i·w + j)·d + k (raster over (h, w, d)),
 *   out[b, q, ((α·p + β)·p + γ)·C + c] = x[b, c, i·p + α, j·p + β, k·p + γ].
 *
 * For C = 1 the element (α, β, γ) sits at α·p² + β·p + γ, exactly the fixture layout.
 */
import { MaskingError } from './errors.js';

export type VolumeShape = readonly [number, number, number, number, number];

export function checkPatchShape(fn: string, shape: readonly number[], patch: number): VolumeShape {
  if (shape.length !== 5 || shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new MaskingError(`${fn}: expected a (B, C, H, W, D) shape, got [${shape.join(', ')}]`);
  }
  if (!Number.isInteger(patch) || patch < 1) throw new MaskingError(`${fn}: patch size must be a positive integer`);
  const [, , H, W, D] = shape;
  if (H % patch || W % patch || D % patch) {
    throw new MaskingError(
      `${fn}: spatial size [${H}, ${W}, ${D}] is not divisible by the patch size ${patch}; crop or pad to a multiple of ${patch}`,
    );
  }
  return [shape[0], shape[1], H, W, D];
}

/** The (B, L, p³·C) token-row index of each volume element, as one Int32Array over the volume (row-major). */
function forEachElement(shape: VolumeShape, p: number, visit: (volumeIndex: number, tokenIndex: number) => void): void {
  const [B, C, H, W, D] = shape;
  const h = H / p;
  const w = W / p;
  const d = D / p;
  const row = p * p * p * C;
  let v = 0;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let x = 0; x < H; x++) {
        const i = Math.floor(x / p);
        const alpha = x - i * p;
        for (let y = 0; y < W; y++) {
          const j = Math.floor(y / p);
          const beta = y - j * p;
          const base = (b * h * w * d + (i * w + j) * d) * row + (alpha * p + beta) * p * C + c;
          for (let z = 0; z < D; z++) {
            const k = Math.floor(z / p);
            const gamma = z - k * p;
            visit(v++, base + k * row + gamma * C);
          }
        }
      }
    }
  }
}

/** (B, C, H, W, D) → (B, L, p³·C). */
export function patchify(x: Float32Array, shape: readonly number[], patch: number): Float32Array {
  const s = checkPatchShape('patchify', shape, patch);
  if (x.length !== s[0] * s[1] * s[2] * s[3] * s[4]) {
    throw new MaskingError(`patchify: ${x.length} values do not fill [${shape.join(', ')}]`);
  }
  const out = new Float32Array(x.length);
  forEachElement(s, patch, (v, t) => {
    out[t] = x[v];
  });
  return out;
}

/** (B, L, p³·C) → (B, C, H, W, D); `shape` is the volume shape to rebuild. */
export function unpatchify(tokens: Float32Array, shape: readonly number[], patch: number): Float32Array {
  const s = checkPatchShape('unpatchify', shape, patch);
  if (tokens.length !== s[0] * s[1] * s[2] * s[3] * s[4]) {
    throw new MaskingError(`unpatchify: ${tokens.length} values do not fill a volume of shape [${shape.join(', ')}]`);
  }
  const out = new Float32Array(tokens.length);
  forEachElement(s, patch, (v, t) => {
    out[v] = tokens[t];
  });
  return out;
}
