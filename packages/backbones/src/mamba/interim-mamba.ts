/**
 * INTERIM Mamba block (mamba_ssm v1 `Mamba`, METHODS.md §1) and HyMamba's `MambaLayer` — written here until
 * `@mim/ssm` ships its Mamba module; then this file is deleted and the imports switch. Parameter names and
 * shapes are mamba_ssm's / the official MambaMIM's (the `*_b` tensors always exist, as in the official local
 * `bi_vision_mamba.Mamba`).
 *
 * bimamba:
 * - `none`: forward direction only — what the official MambaMIM code runs (its `"v1"` falls through to the
 *   unidirectional branch); every `*_b` tensor is unused.
 * - `v1` (Vim): a second scan over the flipped sequence with `A_b_log`, sharing in_proj, conv1d, x_proj, dt_proj
 *   and D; out_proj(y + flip(y_b)).
 * - `v2` (Vim): the flipped branch has its own conv1d_b, x_proj_b, dt_proj_b, A_b_log and D_b and runs on
 *   flip(xz); out_proj((y + flip(y_b)) / 2) (Vim's `if_divide_out`).
 */
import { selectiveScan } from '@mim/ssm';
import {
  add,
  copyTensorInto,
  empty,
  exp,
  GELU,
  indexSelect,
  Linear,
  Module,
  matmul,
  mul,
  narrow,
  neg,
  silu,
  type Tensor,
  tensor,
  tidy,
  transpose,
  weightInit,
} from '@mim/tensor';
import { CausalConv1d, LastAxisLayerNorm } from '../layers/interim.js';

export type BiMambaMode = 'none' | 'v1' | 'v2';
export type InitScheme = 'mambamim' | 'mamba';

export interface MambaOptions {
  dState?: number;
  dConv?: number;
  expand?: number;
  /** Default ceil(dModel / 16). */
  dtRank?: number;
  bimamba?: BiMambaMode;
}

/** Reverses axis `axis` (a gather with a reversed index; differentiable). */
function flip(x: Tensor, axis: number): Tensor {
  const n = x.shape[axis];
  const index = tensor(
    Int32Array.from({ length: n }, (_, i) => n - 1 - i),
    [n],
    { dtype: 'i32' },
  );
  const out = indexSelect(x, axis, index);
  index.dispose();
  return out;
}

/** mamba_ssm's dt_proj bias: inverse softplus of dt = exp(U·(ln 0.1 − ln 1e-3) + ln 1e-3), clamped at 1e-4. */
function mambaDtBias(size: number, seed: number): Float32Array {
  // A tiny deterministic generator (mulberry32) so the init does not depend on the GPU generator's state.
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(size);
  const [low, high] = [Math.log(1e-3), Math.log(0.1)];
  for (let i = 0; i < size; i++) {
    const dt = Math.max(Math.exp(rand() * (high - low) + low), 1e-4);
    out[i] = dt + Math.log(-Math.expm1(-dt));
  }
  return out;
}

/** mamba_ssm v1 `Mamba`. forward: h (B, L, dModel) → (B, L, dModel). */
export class Mamba extends Module {
  readonly dInner: number;
  readonly dtRank: number;
  readonly dState: number;
  readonly bimamba: BiMambaMode;
  readonly A_log: Tensor;
  readonly D: Tensor;
  readonly A_b_log: Tensor;
  readonly D_b: Tensor;
  readonly in_proj: Linear;
  readonly conv1d: CausalConv1d;
  readonly x_proj: Linear;
  readonly dt_proj: Linear;
  readonly conv1d_b: CausalConv1d;
  readonly x_proj_b: Linear;
  readonly dt_proj_b: Linear;
  readonly out_proj: Linear;

  constructor(
    readonly dModel: number,
    options: MambaOptions = {},
  ) {
    super();
    this.dState = options.dState ?? 16;
    const dConv = options.dConv ?? 4;
    this.dInner = (options.expand ?? 2) * dModel;
    this.dtRank = options.dtRank ?? Math.ceil(dModel / 16);
    this.bimamba = options.bimamba ?? 'none';
    const [E, N, R] = [this.dInner, this.dState, this.dtRank];
    const aLog = new Float32Array(E * N);
    for (let d = 0; d < E; d++) for (let n = 0; n < N; n++) aLog[d * N + n] = Math.log(n + 1);
    this.A_log = this.registerParameter('A_log', tensor(aLog, [E, N]));
    this.D = this.registerParameter('D', weightInit.ones(empty([E], 'f32')));
    this.A_b_log = this.registerParameter('A_b_log', tensor(aLog, [E, N]));
    this.D_b = this.registerParameter('D_b', weightInit.ones(empty([E], 'f32')));
    this.in_proj = this.registerModule('in_proj', new Linear(dModel, 2 * E, { bias: false }));
    this.conv1d = this.registerModule('conv1d', new CausalConv1d(E, dConv));
    this.x_proj = this.registerModule('x_proj', new Linear(E, R + 2 * N, { bias: false }));
    this.dt_proj = this.registerModule('dt_proj', new Linear(R, E));
    this.conv1d_b = this.registerModule('conv1d_b', new CausalConv1d(E, dConv));
    this.x_proj_b = this.registerModule('x_proj_b', new Linear(E, R + 2 * N, { bias: false }));
    this.dt_proj_b = this.registerModule('dt_proj_b', new Linear(R, E));
    this.out_proj = this.registerModule('out_proj', new Linear(E, dModel, { bias: false }));
    this.initialize('mamba', 0);
  }

  /**
   * `mamba`: mamba_ssm's init (dt_proj weight U(±R^−½), dt_proj bias = inverse softplus of dt ∈ [1e-3, 0.1],
   * other linears torch defaults). `mambamim`: the official MambaMIM re-init — every Linear xavier_uniform with
   * zero bias (so Δ starts at softplus(·) around ln 2). A_log, D and the conv1d keep their values in both.
   */
  initialize(scheme: InitScheme, seed: number): void {
    const linears = [this.in_proj, this.x_proj, this.dt_proj, this.x_proj_b, this.dt_proj_b, this.out_proj];
    if (scheme === 'mambamim') {
      for (const linear of linears) {
        weightInit.xavierUniform(linear.weight);
        if (linear.bias) weightInit.zeros(linear.bias);
      }
      return;
    }
    const bound = this.dtRank ** -0.5;
    for (const [i, dt] of [this.dt_proj, this.dt_proj_b].entries()) {
      weightInit.uniform(dt.weight, -bound, bound);
      const bias = tensor(mambaDtBias(this.dInner, seed * 2 + i + 1), [this.dInner]);
      copyTensorInto(dt.bias!, bias, 'Mamba.dt_proj.bias');
      bias.dispose();
    }
  }

  /** One scan direction: xz (B, 2E, L) → gated y (B, E, L). */
  private direction(xz: Tensor, conv: CausalConv1d, xProj: Linear, dtProj: Linear, aLog: Tensor, D: Tensor): Tensor {
    const [E, N, R] = [this.dInner, this.dState, this.dtRank];
    const x = narrow(xz, 1, 0, E);
    const z = narrow(xz, 1, E, E);
    const u = silu(conv.forward(x)); // (B, E, L)
    const xDbl = xProj.forward(transpose(u, 1, 2)); // (B, L, R + 2N)
    const dtr = narrow(xDbl, 2, 0, R);
    const delta = transpose(matmul(dtr, dtProj.weight, { transposeB: true }), 1, 2); // (B, E, L), bias in the scan
    const Bm = transpose(narrow(xDbl, 2, R, N), 1, 2); // (B, N, L)
    const Cm = transpose(narrow(xDbl, 2, R + N, N), 1, 2);
    const A = neg(exp(aLog));
    return selectiveScan(u, delta, A, Bm, Cm, { D, z, deltaBias: dtProj.bias, deltaSoftplus: true });
  }

  forward(h: Tensor): Tensor {
    return tidy(() => {
      const xz = transpose(this.in_proj.forward(h), 1, 2); // (B, 2E, L)
      const forward = this.direction(xz, this.conv1d, this.x_proj, this.dt_proj, this.A_log, this.D);
      let y: Tensor;
      if (this.bimamba === 'none') {
        y = forward;
      } else if (this.bimamba === 'v1') {
        const backward = this.direction(flip(xz, 2), this.conv1d, this.x_proj, this.dt_proj, this.A_b_log, this.D);
        y = add(forward, flip(backward, 2));
      } else {
        const backward = this.direction(
          flip(xz, 2),
          this.conv1d_b,
          this.x_proj_b,
          this.dt_proj_b,
          this.A_b_log,
          this.D_b,
        );
        y = mul(add(forward, flip(backward, 2)), 0.5);
      }
      return this.out_proj.forward(transpose(y, 1, 2));
    });
  }
}

/** HyMamba's MLP: fc1 → GELU → fc2. */
export class MlpChannel extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  constructor(hidden: number, mlpDim: number) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(hidden, mlpDim));
    this.act = this.registerModule('act', new GELU());
    this.fc2 = this.registerModule('fc2', new Linear(mlpDim, hidden));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.fc2.forward(this.act.forward(this.fc1.forward(x))));
  }
}

/** HyMamba's MambaLayer: x += Mamba(LN(x)); x += MLP(LN(x)). LN eps 1e-5, MLP ratio 2. x: (B, L, dim). */
export class MambaLayer extends Module {
  readonly norm1: LastAxisLayerNorm;
  readonly mamba: Mamba;
  readonly mlp: MlpChannel;
  readonly norm2: LastAxisLayerNorm;
  constructor(dim: number, options: MambaOptions & { mlpRatio?: number } = {}) {
    super();
    this.norm1 = this.registerModule('norm1', new LastAxisLayerNorm(dim));
    this.mamba = this.registerModule('mamba', new Mamba(dim, options));
    this.mlp = this.registerModule('mlp', new MlpChannel(dim, (options.mlpRatio ?? 2) * dim));
    this.norm2 = this.registerModule('norm2', new LastAxisLayerNorm(dim));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = add(this.mamba.forward(this.norm1.forward(x)), x);
      return add(this.mlp.forward(this.norm2.forward(h)), h);
    });
  }
}
