/**
 * The Mamba block (mamba_ssm v1 `Mamba`, METHODS.md §1.1) and its bidirectional variants (§1.4), with
 * mamba_ssm's parameter names so checkpoints move to and from PyTorch by key.
 *
 *   xz = in_proj(h) → x, z;  u = SiLU(causal conv1d(x));  [dt | B | C] = x_proj(u);  Δ = dt_proj.weight · dt
 *   y = selectiveScan(u, Δ, −exp(A_log), B, C, {D, z, deltaBias: dt_proj.bias, deltaSoftplus})
 *   out = out_proj(y)
 *
 * bimamba: 'none' — forward only (what the official MambaMIM code runs);
 *          'v1'   — Vim v1: a second scan over the flipped sequence with A_b, everything else shared;
 *          'v2'   — Vim v2: a separate backward branch (conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b).
 * The *_b parameters exist in every mode, so checkpoint keys round-trip.
 */
import {
  add,
  arange,
  contiguous,
  div,
  exp,
  gelu,
  indexSelect,
  LayerNorm,
  Linear,
  Module,
  matmul,
  narrow,
  neg,
  philoxWords,
  resolveStream,
  type Tensor,
  tensor,
  transpose,
  weightInit,
  writeInto,
} from '@mim/tensor';
import { causalConv1d } from '../conv1d/causal-conv1d.js';
import { selectiveScan } from '../scan/selective-scan.js';

/** A Philox word → [0, 1) with 24 random bits (the same mapping as @mim/tensor's `rand`). */
const unitInterval = (word: number): number => (word >>> 8) * 2 ** -24;

export type BiMambaMode = 'none' | 'v1' | 'v2';
export type MambaInitScheme = 'mamba' | 'mambamim';

export interface MambaOptions {
  dState?: number;
  dConv?: number;
  expand?: number;
  /** Rank of Δ's projection; default ceil(dModel / 16). */
  dtRank?: number;
  bimamba?: BiMambaMode;
  /** v2 only: halve the sum of both directions (Vim's `if_divide_out`, default true). */
  divideOut?: boolean;
  /** 'mamba': mamba_ssm's initialisation; 'mambamim' (default): MambaMIM re-initialises every Linear (xavier, bias 0). */
  initScheme?: MambaInitScheme;
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
}

/** Depthwise conv1d parameters in PyTorch's nn.Conv1d layout: weight (E, 1, K), bias (E). */
export class DepthwiseConv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly channels: number,
    readonly kernelSize: number,
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      tensor(new Float32Array(channels * kernelSize), [channels, 1, kernelSize]),
    );
    this.bias = this.registerParameter('bias', tensor(new Float32Array(channels), [channels]));
    // nn.Conv1d default: fan_in = K (one input channel per group) → U(±1/√K) for weight and bias.
    const bound = 1 / Math.sqrt(kernelSize);
    weightInit.uniform(this.weight, -bound, bound);
    weightInit.uniform(this.bias, -bound, bound);
  }

  /** x: (batch, E, L) → SiLU(causal conv) (batch, E, L). */
  forward(x: Tensor): Tensor {
    return causalConv1d(x, this.weight, this.bias, { activation: 'silu' });
  }
}

/** Reverses axis 2 (the sequence) of a (batch, channels, L) tensor; differentiable. */
function flipSequence(x: Tensor): Tensor {
  const L = x.shape[2];
  const reversed = arange(L - 1, -1, -1, { dtype: 'i32' });
  const out = indexSelect(x, 2, reversed);
  reversed.dispose();
  return out;
}

/** The per-direction inputs of the selective scan, all channels-first. */
interface ScanInputs {
  u: Tensor;
  delta: Tensor;
  B: Tensor;
  C: Tensor;
  z: Tensor;
}

/** (batch, L, F) → (batch, F, L) contiguous. */
const channelsFirst = (x: Tensor): Tensor => contiguous(transpose(x, 1, 2));

export class Mamba extends Module {
  readonly dInner: number;
  readonly dtRank: number;
  readonly dState: number;
  readonly bimamba: BiMambaMode;
  readonly divideOut: boolean;
  readonly in_proj: Linear;
  readonly conv1d: DepthwiseConv1d;
  readonly x_proj: Linear;
  readonly dt_proj: Linear;
  readonly A_log: Tensor;
  readonly D: Tensor;
  readonly A_b_log: Tensor;
  readonly D_b: Tensor;
  readonly conv1d_b: DepthwiseConv1d;
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
    this.divideOut = options.divideOut ?? true;
    const E = this.dInner;
    const N = this.dState;
    const R = this.dtRank;
    this.in_proj = this.registerModule('in_proj', new Linear(dModel, 2 * E, { bias: false }));
    this.conv1d = this.registerModule('conv1d', new DepthwiseConv1d(E, dConv));
    this.x_proj = this.registerModule('x_proj', new Linear(E, R + 2 * N, { bias: false }));
    this.dt_proj = this.registerModule('dt_proj', new Linear(R, E));
    // S4D-real: A = −(1 … N) per channel.
    const aLog = Float32Array.from({ length: E * N }, (_, i) => Math.log((i % N) + 1));
    this.A_log = this.registerParameter('A_log', tensor(aLog, [E, N]));
    this.D = this.registerParameter('D', tensor(new Float32Array(E).fill(1), [E]));
    this.A_b_log = this.registerParameter('A_b_log', tensor(aLog, [E, N]));
    this.D_b = this.registerParameter('D_b', tensor(new Float32Array(E).fill(1), [E]));
    this.conv1d_b = this.registerModule('conv1d_b', new DepthwiseConv1d(E, dConv));
    this.x_proj_b = this.registerModule('x_proj_b', new Linear(E, R + 2 * N, { bias: false }));
    this.dt_proj_b = this.registerModule('dt_proj_b', new Linear(R, E));
    this.out_proj = this.registerModule('out_proj', new Linear(E, dModel, { bias: false }));
    this.initialise(options);
  }

  private initialise(options: MambaOptions): void {
    const linears = [this.in_proj, this.x_proj, this.dt_proj, this.x_proj_b, this.dt_proj_b, this.out_proj];
    if ((options.initScheme ?? 'mambamim') === 'mambamim') {
      // MambaMIM's initialize_weights: xavier_uniform on every Linear, bias 0 (dt_proj.bias included).
      for (const linear of linears) {
        weightInit.xavierUniform(linear.weight);
        if (linear.bias) weightInit.zeros(linear.bias);
      }
      return;
    }
    // mamba_ssm: dt_proj.weight ~ U(±R^{−1/2}); dt_proj.bias = softplus⁻¹(dt), dt log-uniform in [dtMin, dtMax].
    const dtMin = options.dtMin ?? 1e-3;
    const dtMax = options.dtMax ?? 0.1;
    const floor = options.dtInitFloor ?? 1e-4;
    for (const dtProj of [this.dt_proj, this.dt_proj_b]) {
      const bound = this.dtRank ** -0.5;
      weightInit.uniform(dtProj.weight, -bound, bound);
      const { seed, offset } = resolveStream({}, 'Mamba dt init');
      const words = philoxWords(seed, offset, this.dInner);
      const bias = Float32Array.from(words, (w) => {
        const dt = Math.max(Math.exp(unitInterval(w) * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)), floor);
        return dt + Math.log(-Math.expm1(-dt));
      });
      writeInto(dtProj.bias!, bias, 'dt_proj.bias');
    }
  }

  /** conv1d + SiLU and the projections of one direction, on channels-first xz (batch, 2E, L). */
  private projections(xz: Tensor, conv: DepthwiseConv1d, xProj: Linear, dtProj: Linear): ScanInputs {
    const E = this.dInner;
    const R = this.dtRank;
    const N = this.dState;
    const u = conv.forward(contiguous(narrow(xz, 1, 0, E)));
    const xDbl = xProj.forward(contiguous(transpose(u, 1, 2))); // (batch, L, R + 2N)
    return {
      u,
      delta: channelsFirst(matmul(narrow(xDbl, 2, 0, R), dtProj.weight, { transposeB: true })),
      B: channelsFirst(narrow(xDbl, 2, R, N)),
      C: channelsFirst(narrow(xDbl, 2, R + N, N)),
      z: contiguous(narrow(xz, 1, E, E)),
    };
  }

  private scan(s: ScanInputs, aLog: Tensor, D: Tensor, deltaBias: Tensor | null): Tensor {
    return selectiveScan(s.u, s.delta, neg(exp(aLog)), s.B, s.C, { D, z: s.z, deltaBias, deltaSoftplus: true });
  }

  /** h: (batch, L, dModel) → (batch, L, dModel). */
  forward(h: Tensor): Tensor {
    const xz = channelsFirst(this.in_proj.forward(h)); // (batch, 2E, L)
    const forward = this.projections(xz, this.conv1d, this.x_proj, this.dt_proj);
    let y = this.scan(forward, this.A_log, this.D, this.dt_proj.bias);
    if (this.bimamba === 'v1') {
      // Vim v1: the same conv output and projections, flipped along L, scanned with A_b.
      const flipped: ScanInputs = {
        u: flipSequence(forward.u),
        delta: flipSequence(forward.delta),
        B: flipSequence(forward.B),
        C: flipSequence(forward.C),
        z: flipSequence(forward.z),
      };
      y = add(y, flipSequence(this.scan(flipped, this.A_b_log, this.D, this.dt_proj.bias)));
    } else if (this.bimamba === 'v2') {
      const backward = this.projections(flipSequence(xz), this.conv1d_b, this.x_proj_b, this.dt_proj_b);
      y = add(y, flipSequence(this.scan(backward, this.A_b_log, this.D_b, this.dt_proj_b.bias)));
      if (this.divideOut) y = div(y, 2);
    }
    return this.out_proj.forward(contiguous(transpose(y, 1, 2)));
  }
}

/** x ← x + Mamba(LN(x)); x ← x + MLP(LN(x)) with an MLP of ratio 2 (fc1 → GELU → fc2). */
export class MambaLayer extends Module {
  readonly norm1: LayerNorm;
  readonly mamba: Mamba;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(dim: number, options: MambaOptions & { mlpRatio?: number; eps?: number } = {}) {
    super();
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { eps: options.eps ?? 1e-5 }));
    this.mamba = this.registerModule('mamba', new Mamba(dim, options));
    this.mlp = this.registerModule(
      'mlp',
      new Mlp(dim, Math.round(dim * (options.mlpRatio ?? 2)), options.initScheme ?? 'mambamim'),
    );
    // Registration order = state-dict order: the official layer has norm1, mamba, mlp, norm2.
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { eps: options.eps ?? 1e-5 }));
  }

  /** x: (batch, L, dim). */
  forward(x: Tensor): Tensor {
    const h = add(x, this.mamba.forward(this.norm1.forward(x)));
    return add(h, this.mlp.forward(this.norm2.forward(h)));
  }
}

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number, initScheme: MambaInitScheme) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, dim));
    if (initScheme === 'mambamim') {
      for (const fc of [this.fc1, this.fc2]) {
        weightInit.xavierUniform(fc.weight);
        weightInit.zeros(fc.bias!);
      }
    }
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(gelu(this.fc1.forward(x)));
  }
}
