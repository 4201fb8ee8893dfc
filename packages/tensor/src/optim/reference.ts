/** Float64 references of the optimiser updates (torch semantics), one step on flat arrays. */

export function adamwStepRef(
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  step: number,
  o: { lr: number; betas: [number, number]; eps: number; weightDecay: number },
): void {
  const [b1, b2] = o.betas;
  const bc1 = 1 - b1 ** step;
  const bc2 = 1 - b2 ** step;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - o.lr * o.weightDecay;
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (o.lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps));
  }
}

export function sgdStepRef(
  p: Float64Array,
  g: ArrayLike<number>,
  buf: Float64Array | null,
  first: boolean,
  o: { lr: number; momentum: number; dampening: number; nesterov: boolean; weightDecay: number },
): void {
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + o.weightDecay * p[i];
    if (buf) {
      buf[i] = first ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
    }
    p[i] -= o.lr * d;
  }
}

export function lambStepRef(
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  step: number,
  o: { lr: number; betas: [number, number]; eps: number; weightDecay: number; trustClip: boolean },
): void {
  const [b1, b2] = o.betas;
  const u = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    u[i] = m[i] / (1 - b1 ** step) / (Math.sqrt(v[i] / (1 - b2 ** step)) + o.eps) + o.weightDecay * p[i];
  }
  const wn = Math.hypot(...p);
  const un = Math.hypot(...u);
  let ratio = wn > 0 && un > 0 ? wn / un : 1;
  if (o.trustClip) ratio = Math.min(ratio, 1);
  for (let i = 0; i < p.length; i++) p[i] -= o.lr * ratio * u[i];
}
