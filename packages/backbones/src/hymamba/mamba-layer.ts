/**
 * HyMamba's `MambaLayer` (official `mamba_layer.MambaLayer`): x ← x + Mamba(LN(x)); x ← x + MLP(LN(x)), built from
 * @mim/ssm's `Mamba` and `Mlp` and @mim/tensor's `LayerNorm`. It is the same computation as @mim/ssm's
 * `MambaLayer`; it exists because the official module registers `mlp` before `norm2`, so its state dict lists
 * `norm1, mamba, mlp, norm2`, while @mim/ssm's `MambaLayer` registers `norm2` before `mlp` (same keys, other order).
 */
import { Mamba, type MambaOptions, Mlp } from '@mim/ssm';
import { add, LayerNorm, Module, type Tensor } from '@mim/tensor';

export class HyMambaLayer extends Module {
  readonly norm1: LayerNorm;
  readonly mamba: Mamba;
  readonly mlp: Mlp;
  readonly norm2: LayerNorm;

  constructor(dim: number, options: MambaOptions & { mlpRatio?: number; eps?: number } = {}) {
    super();
    const eps = options.eps ?? 1e-5;
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { eps }));
    this.mamba = this.registerModule('mamba', new Mamba(dim, options));
    this.mlp = this.registerModule(
      'mlp',
      new Mlp(dim, Math.round(dim * (options.mlpRatio ?? 2)), options.initScheme ?? 'mambamim'),
    );
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { eps }));
  }

  /** x: (batch, L, dim) → (batch, L, dim). */
  forward(x: Tensor): Tensor {
    const h = add(x, this.mamba.forward(this.norm1.forward(x)));
    return add(h, this.mlp.forward(this.norm2.forward(h)));
  }
}
