/** Float64 references for 3-D pooling on row-major (N·C, D, H, W) volumes. */
export interface PoolRefGeometry {
  NC: number;
  size: [number, number, number];
  k: [number, number, number];
  s: [number, number, number];
  p: [number, number, number];
}

function outSize(g: PoolRefGeometry): [number, number, number] {
  return g.size.map((n, a) => Math.floor((n + 2 * g.p[a] - g.k[a]) / g.s[a]) + 1) as [number, number, number];
}

function pool(x: ArrayLike<number>, g: PoolRefGeometry, kind: 'max' | 'avg', countIncludePad = true): Float64Array {
  const [D, H, W] = g.size;
  const [OD, OH, OW] = outSize(g);
  const out = new Float64Array(g.NC * OD * OH * OW);
  let idx = 0;
  for (let nc = 0; nc < g.NC; nc++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let best = Number.NEGATIVE_INFINITY;
          let total = 0;
          let count = 0;
          for (let a = 0; a < g.k[0]; a++)
            for (let b = 0; b < g.k[1]; b++)
              for (let c = 0; c < g.k[2]; c++) {
                const z = od * g.s[0] - g.p[0] + a;
                const y = oh * g.s[1] - g.p[1] + b;
                const w = ow * g.s[2] - g.p[2] + c;
                if (z < 0 || z >= D || y < 0 || y >= H || w < 0 || w >= W) continue;
                const v = x[((nc * D + z) * H + y) * W + w];
                best = Math.max(best, v);
                total += v;
                count++;
              }
          out[idx++] = kind === 'max' ? best : total / (countIncludePad ? g.k[0] * g.k[1] * g.k[2] : count);
        }
  return out;
}

export const maxPool3dRef = (x: ArrayLike<number>, g: PoolRefGeometry): Float64Array => pool(x, g, 'max');
export const avgPool3dRef = (x: ArrayLike<number>, g: PoolRefGeometry, countIncludePad = true): Float64Array =>
  pool(x, g, 'avg', countIncludePad);
