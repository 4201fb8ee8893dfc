/**
 * HyMamba's fixed 3D sin-cos position embedding (`build_3d_sincos_position_embedding`): for token (i, j, k) of an
 * f³ grid (i slowest), ω_m = 10000^(−m/P) with P = C/6, the row is [sin iω, cos iω, sin jω, cos jω, sin kω, cos kω].
 * Returns (1, f³, C) as a Float32Array (computed in float64, rounded once).
 */
export function sinCosPositionEmbedding3d(grid: number, channels: number, temperature = 10000): Float32Array {
  if (channels % 6 !== 0) {
    throw new Error(`sinCosPositionEmbedding3d: channels ${channels} must be divisible by 6 (3 axes × sin/cos)`);
  }
  const P = channels / 6;
  // torch computes ω and the products in float32; mirror that rounding so the table equals the official one.
  const omega = Float32Array.from({ length: P }, (_, m) => 1 / temperature ** Math.fround(m / P));
  const out = new Float32Array(grid ** 3 * channels);
  let row = 0;
  for (let i = 0; i < grid; i++)
    for (let j = 0; j < grid; j++)
      for (let k = 0; k < grid; k++) {
        const base = row * channels;
        [i, j, k].forEach((coordinate, axis) => {
          for (let m = 0; m < P; m++) {
            const angle = Math.fround(coordinate * omega[m]);
            out[base + axis * 2 * P + m] = Math.sin(angle);
            out[base + axis * 2 * P + P + m] = Math.cos(angle);
          }
        });
        row++;
      }
  return out;
}
