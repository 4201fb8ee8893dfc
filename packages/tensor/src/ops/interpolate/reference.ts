/** Float64 reference of separable trilinear / nearest resizing of (N·C, D, H, W) volumes (PyTorch rules). */
function taps(n: number, m: number, mode: 'trilinear' | 'nearest'): [number, number, number][] {
  const scale = n / m;
  return Array.from({ length: m }, (_, o) => {
    if (mode === 'nearest') {
      const i = Math.min(Math.floor(o * scale), n - 1);
      return [i, i, 0];
    }
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), n - 1);
    return [lo, Math.min(lo + 1, n - 1), src - lo];
  });
}

export function interpolate3dRef(
  x: ArrayLike<number>,
  NC: number,
  size: [number, number, number],
  outSize: [number, number, number],
  mode: 'trilinear' | 'nearest' = 'trilinear',
): Float64Array {
  const [D, H, W] = size;
  const [OD, OH, OW] = outSize;
  const td = taps(D, OD, mode);
  const th = taps(H, OH, mode);
  const tw = taps(W, OW, mode);
  const out = new Float64Array(NC * OD * OH * OW);
  let idx = 0;
  for (let nc = 0; nc < NC; nc++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let v = 0;
          for (const [zi, zw] of [
            [td[od][0], 1 - td[od][2]],
            [td[od][1], td[od][2]],
          ])
            for (const [yi, yw] of [
              [th[oh][0], 1 - th[oh][2]],
              [th[oh][1], th[oh][2]],
            ])
              for (const [wi, ww] of [
                [tw[ow][0], 1 - tw[ow][2]],
                [tw[ow][1], tw[ow][2]],
              ])
                v += zw * yw * ww * x[((nc * D + zi) * H + yi) * W + wi];
          out[idx++] = v;
        }
  return out;
}
