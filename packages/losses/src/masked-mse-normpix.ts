/**
 * The SparK / MambaMIM reconstruction loss (fixture op `masked_mse_normpix`): the target is normalised per
 * patch, `t̂ = (t − mean)/√(var_unbiased + 1e-6)`; the per-patch error is the mean of (prediction − t̂)² over the
 * patch; the loss is Σ m·e / (Σ m + 1e-8) with m = 1 − visible, i.e. the mean over masked patches only.
 */
import {
  add,
  cast,
  DTypeError,
  fmtShape,
  mean,
  mul,
  noGrad,
  reciprocal,
  reshape,
  ShapeError,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tidy,
  variance,
} from '@mim/tensor';
import { patchGrid, patchify } from './patchify.js';

export interface MaskedMseNormPixOptions {
  /** Added to the unbiased per-patch variance before the square root (default 1e-6). */
  varianceEpsilon?: number;
  /** Added to the masked-patch count in the denominator (default 1e-8, as in the official code). */
  denominatorEpsilon?: number;
  /** Normalise the target per patch (default true); false gives a plain masked MSE. */
  normalizeTarget?: boolean;
}

/**
 * The per-patch normalised target, patchified: (B, C, H, W, D) → (B, L, C·p³). Not differentiable (the target
 * is data).
 */
export function normalizedPatches(target: Tensor, patchSize: number, varianceEpsilon = 1e-6): Tensor {
  return noGrad(() =>
    tidy(() => {
      const patches = patchify(target, patchSize);
      const mu = mean(patches, -1, true);
      const spread = variance(patches, -1, { correction: 1, keepdim: true });
      const scale = reciprocal(sqrt(add(spread, varianceEpsilon)));
      return mul(sub(patches, mu), scale);
    }),
  );
}

/** The visible mask as f32 (B, L) weights m/(Σm + ε) of the masked patches. */
function maskedWeights(visible: Tensor, B: number, L: number, denominatorEpsilon: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const asFloat = visible.dtype === 'f32' ? visible : cast(visible, 'f32');
      const flat = reshape(asFloat, [B, L]);
      const masked = sub(1, flat);
      const count = add(sum(masked), denominatorEpsilon);
      return mul(masked, reciprocal(count));
    }),
  );
}

/**
 * prediction, target: (B, C, H, W, D) f32 (C = 1 in MambaMIM); visible: (B, h, w, d) or (B, 1, h, w, d) with
 * h = H/p … (u32/i32/f32, 1 = visible). Returns the scalar loss (shape []), differentiable w.r.t. `prediction`.
 * `target` never receives a gradient.
 */
export function maskedMseNormPix(
  prediction: Tensor,
  target: Tensor,
  visible: Tensor,
  patchSize: number,
  options: MaskedMseNormPixOptions = {},
): Tensor {
  const op = 'maskedMseNormPix';
  const [h, w, d] = patchGrid(op, prediction, patchSize);
  if (target.rank !== 5 || target.shape.some((n, i) => n !== prediction.shape[i])) {
    throw new ShapeError(
      `${op}: target ${fmtShape(target.shape)} must have the prediction's shape ${fmtShape(prediction.shape)}`,
    );
  }
  if (prediction.dtype !== 'f32' || target.dtype !== 'f32') {
    throw new DTypeError(`${op}: prediction and target must be f32, got ${prediction.dtype} and ${target.dtype}`);
  }
  const B = prediction.shape[0];
  const L = h * w * d;
  if (visible.size !== B * L || visible.shape[0] !== B) {
    throw new ShapeError(
      `${op}: visible ${fmtShape(visible.shape)} must hold one flag per patch, (B, h, w, d) = (${B}, ${h}, ${w}, ${d})`,
    );
  }
  const varianceEpsilon = options.varianceEpsilon ?? 1e-6;
  const denominatorEpsilon = options.denominatorEpsilon ?? 1e-8;
  return tidy(() => {
    const goal =
      options.normalizeTarget === false
        ? noGrad(() => patchify(target, patchSize))
        : normalizedPatches(target, patchSize, varianceEpsilon);
    const weights = maskedWeights(visible, B, L, denominatorEpsilon);
    const perPatch = mean(square(sub(patchify(prediction, patchSize), goal)), -1);
    return sum(mul(perPatch, weights));
  });
}
