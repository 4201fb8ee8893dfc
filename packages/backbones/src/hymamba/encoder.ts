/**
 * The HyMamba encoder of MambaMIM (METHODS.md §3.2–3.4; official `Encoder` / `SparseEncoder`): a CNN stem,
 * MedNeXt blocks with sparse convolution and sparse channels-first LayerNorm, max-pool downsampling, UNet
 * residual skip blocks, and a Mamba stage on the deepest token grid. State-dict keys are the official ones
 * (`embeddings.*`, `mae.*`).
 */
import { type BiMambaMode, type MambaInitScheme, MambaLayer } from '@mim/ssm';
import {
  add,
  Conv3d,
  concat,
  empty,
  GELU,
  gt,
  indexSelect,
  LayerNorm,
  Module,
  ModuleList,
  maxPool3d,
  mul,
  reshape,
  type Tensor,
  tensor,
  tidy,
  transpose,
  weightInit,
  where,
} from '@mim/tensor';
import { type SparseMasks, sparse } from '../sparse.js';
import { sinCosPositionEmbedding3d } from './position.js';

/** How the Mamba stage sees a masked grid (METHODS.md §3.4). */
export type MambaSequence = 'visibleOnly' | 'officialBatchSum';

export interface HyMambaEncoderOptions {
  inChannels?: number;
  /** Stem and the four stage widths (c0, c1 … c4); the Mamba stage runs at c4. */
  channels: readonly [number, number, number, number, number];
  /** MedNeXt blocks per stage (layer2 … layer5). */
  depths: readonly [number, number, number, number];
  /** MedNeXt expansion ratios (layer2 … layer5). */
  expansions: readonly [number, number, number, number];
  kernelSize?: number;
  inputSize: number;
  mambaDepth: number;
  dState?: number;
  dConv?: number;
  expand?: number;
  mlpRatio?: number;
  bimamba?: BiMambaMode;
  mambaSeq?: MambaSequence;
  initScheme?: MambaInitScheme;
}

/** The channels-first LayerNorm of MedNeXt / HyMamba (eps 1e-6); with a mask it is SparK's sparse LayerNorm. */
const channelNorm = (channels: number) => new LayerNorm(channels, { eps: 1e-6, dataFormat: 'channels_first' });

function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  return tidy(() => where(gt(x, 0), x, mul(x, slope)));
}

/** MedNeXt block as HyMamba uses it: dw conv → sparse LN → 1×1 expand → GELU → 1×1 compress → ×mask → + x. */
export class MedNeXtBlock extends Module {
  readonly conv1: Conv3d;
  readonly norm: LayerNorm;
  readonly conv2: Conv3d;
  readonly act: GELU;
  readonly conv3: Conv3d;

  constructor(channels: number, expansion: number, kernelSize: number) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new Conv3d(channels, channels, kernelSize, { padding: kernelSize >> 1, groups: channels }),
    );
    this.norm = this.registerModule('norm', channelNorm(channels));
    this.conv2 = this.registerModule('conv2', new Conv3d(channels, expansion * channels, 1));
    this.act = this.registerModule('act', new GELU());
    this.conv3 = this.registerModule('conv3', new Conv3d(expansion * channels, channels, 1));
  }

  /** x: (B, C, s, s, s); mask (B, 1, s, s, s) or null (dense). */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => {
      let h = sparse(this.conv1.forward(x), mask);
      h = this.norm.forward(h, { mask });
      h = this.act.forward(sparse(this.conv2.forward(h), mask));
      h = sparse(sparse(this.conv3.forward(h), mask), mask);
      return add(x, h);
    });
  }
}

/** MONAI-style UnetResBlock (in = out, stride 1): conv → LN → LeakyReLU → conv → LN → + x → LeakyReLU. */
export class UnetResBlock extends Module {
  readonly conv1: Conv3d;
  readonly conv2: Conv3d;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;

  constructor(channels: number, kernelSize: number) {
    super();
    const padding = kernelSize >> 1;
    this.conv1 = this.registerModule('conv1', new Conv3d(channels, channels, kernelSize, { padding }));
    this.conv2 = this.registerModule('conv2', new Conv3d(channels, channels, kernelSize, { padding }));
    this.norm1 = this.registerModule('norm1', channelNorm(channels));
    this.norm2 = this.registerModule('norm2', channelNorm(channels));
  }

  forward(x: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => {
      let h = this.norm1.forward(sparse(this.conv1.forward(x), mask), { mask });
      h = leakyRelu(h);
      h = this.norm2.forward(sparse(this.conv2.forward(h), mask), { mask });
      return leakyRelu(add(h, x));
    });
  }
}

class MedNeXtStage extends ModuleList<MedNeXtBlock> {
  forward(x: Tensor, mask: Tensor | null): Tensor {
    let current = x;
    for (const block of this) {
      const next = block.forward(current, mask);
      if (current !== x) current.dispose();
      current = next;
    }
    return current;
  }
}

/** The CNN part (`embeddings.*`). */
export class Embeddings extends Module {
  readonly stem: Conv3d;
  readonly layers: MedNeXtStage[];
  readonly expend: Conv3d[];
  readonly encoders: UnetResBlock[];

  constructor(options: HyMambaEncoderOptions) {
    super();
    const c = options.channels;
    const k = options.kernelSize ?? 3;
    this.stem = this.registerModule('stem', new Conv3d(options.inChannels ?? 1, c[0], 3, { padding: 1 }));
    this.layers = [1, 2, 3, 4].map((s) =>
      this.registerModule(
        `layer${s + 1}`,
        new MedNeXtStage(
          Array.from({ length: options.depths[s - 1] }, () => new MedNeXtBlock(c[s], options.expansions[s - 1], k)),
        ),
      ),
    );
    this.expend = [1, 2, 3, 4].map((s) =>
      this.registerModule(`expend${s}`, new Conv3d(c[s - 1], c[s], 3, { padding: 1 })),
    );
    this.encoders = [1, 2, 3, 4].map((s) => this.registerModule(`encoder${s}`, new UnetResBlock(c[s], 3)));
  }

  /**
   * x: (B, inC, S, S, S) (already multiplied by the input mask). Returns the skip features s1…s4 (s1 is null unless
   * `withFullResolution`, since MambaMIM never decodes it) and the deepest map x5 (B, c4, S/16 …).
   */
  forward(
    x: Tensor,
    masks: SparseMasks | null,
    withFullResolution = false,
  ): { skips: (Tensor | null)[]; deepest: Tensor } {
    const S = x.shape[2];
    const maskAt = (size: number) => (masks ? masks.at(size) : null);
    return tidy(() => {
      let h = sparse(this.stem.forward(x), maskAt(S));
      const maps: Tensor[] = [];
      let size = S;
      for (let s = 0; s < 4; s++) {
        const expanded = sparse(this.expend[s].forward(h), maskAt(size));
        maps.push(expanded);
        size /= 2;
        h = sparse(maxPool3d(expanded, 2), maskAt(size));
        h = this.layers[s].forward(h, maskAt(size));
      }
      const skips = maps.map((map, s) =>
        s === 0 && !withFullResolution ? null : this.encoders[s].forward(map, maskAt(S >> s)),
      );
      return { skips, deepest: h };
    });
  }
}

/** The Mamba stage (`mae.*`): pos_embed (frozen), mask_token, blocks. */
export class MambaStage extends Module {
  readonly pos_embed: Tensor;
  readonly mask_token: Tensor;
  readonly blocks: ModuleList<MambaLayer>;
  readonly sequence: MambaSequence;

  constructor(
    readonly grid: number,
    readonly dim: number,
    options: HyMambaEncoderOptions,
  ) {
    super();
    const L = grid ** 3;
    this.pos_embed = this.registerParameter('pos_embed', tensor(sinCosPositionEmbedding3d(grid, dim), [1, L, dim]));
    this.pos_embed.requiresGrad = false; // frozen, like the official nn.Parameter(requires_grad=False)
    this.mask_token = this.registerParameter('mask_token', weightInit.normal(empty([1, 1, dim], 'f32'), 0, 0.02));
    this.blocks = this.registerModule(
      'blocks',
      new ModuleList(
        Array.from(
          { length: options.mambaDepth },
          () =>
            new MambaLayer(dim, {
              dState: options.dState,
              dConv: options.dConv,
              expand: options.expand,
              mlpRatio: options.mlpRatio,
              bimamba: options.bimamba,
              initScheme: options.initScheme ?? 'mambamim',
            }),
        ),
      ),
    );
    this.sequence = options.mambaSeq ?? 'visibleOnly';
  }

  private runBlocks(x: Tensor): Tensor {
    let current = x;
    for (const block of this.blocks) {
      const next = block.forward(current);
      if (current !== x) current.dispose();
      current = next;
    }
    return current;
  }

  /**
   * The token order each sample's Mamba sequence uses: `visibleOnly` — its visible tokens in raster order;
   * `officialBatchSum` — visible then masked tokens (raster order inside each), cut to the batch's total visible
   * count (all L tokens once that reaches L), as the official `random_masking` does. Exposed for tests.
   */
  sequenceOrder(visible: Uint8Array, batch: number): Int32Array[] {
    const L = this.grid ** 3;
    const total = visible.reduce((a, v) => a + (v ? 1 : 0), 0);
    return Array.from({ length: batch }, (_, b) => {
      const flags = visible.subarray(b * L, (b + 1) * L);
      const shown: number[] = [];
      const hidden: number[] = [];
      for (let t = 0; t < L; t++) (flags[t] ? shown : hidden).push(t);
      if (this.sequence === 'visibleOnly') return Int32Array.from(shown);
      return Int32Array.from([...shown, ...hidden].slice(0, Math.min(total, L)));
    });
  }

  /**
   * x5: (B, C, f, f, f). With `visible` (B·f³ flags), tokens outside each sample's sequence are replaced by
   * mask_token after the blocks (they never enter them); without, every token is processed (dense mode).
   * Returns (B, C, f, f, f) and the `idsRestore`-style order used.
   */
  forward(x5: Tensor, visible: Uint8Array | null): { out: Tensor; orders: Int32Array[] | null } {
    const [B, C, f] = x5.shape;
    const L = f ** 3;
    return tidy(() => {
      const tokens = add(transpose(reshape(x5, [B, C, L]), 1, 2), this.pos_embed); // (B, L, C)
      if (!visible) {
        const out = this.runBlocks(tokens);
        return { out: reshape(transpose(out, 1, 2), [B, C, f, f, f]), orders: null };
      }
      const orders = this.sequenceOrder(visible, B);
      const flat = reshape(tokens, [B * L, C]);
      // Samples with sequences of equal length run as one batch; otherwise each sample runs alone.
      const groups: number[][] = [];
      for (let b = 0; b < B; b++) {
        const group = groups.find((g) => orders[g[0]].length === orders[b].length);
        if (group) group.push(b);
        else groups.push([b]);
      }
      const processed: Tensor[] = [];
      const rowOf = new Int32Array(B * L).fill(-1);
      let row = 0;
      for (const group of groups) {
        const n = orders[group[0]].length;
        if (n === 0) continue;
        const index = new Int32Array(group.length * n);
        group.forEach((b, g) => {
          orders[b].forEach((t, i) => {
            index[g * n + i] = b * L + t;
            rowOf[b * L + t] = row + g * n + i;
          });
        });
        const picked = indexSelect(flat, 0, tensor(index, [index.length], { dtype: 'i32' }));
        const out = this.runBlocks(reshape(picked, [group.length, n, C]));
        processed.push(reshape(out, [group.length * n, C]));
        row += group.length * n;
      }
      // Rows of `processed` followed by the mask token; tokens outside every sequence take the mask token.
      const table = concat([...processed, reshape(this.mask_token, [1, C])], 0);
      const restore = rowOf.map((r) => (r < 0 ? row : r));
      const restored = indexSelect(table, 0, tensor(restore, [B * L], { dtype: 'i32' }));
      const out = reshape(transpose(reshape(restored, [B, L, C]), 1, 2), [B, C, f, f, f]);
      return { out, orders };
    });
  }
}

/** HyMamba encoder: `embeddings` (CNN) + `mae` (Mamba stage). */
export class HyMambaEncoder extends Module {
  readonly embeddings: Embeddings;
  readonly mae: MambaStage;
  readonly grid: number;

  constructor(readonly options: HyMambaEncoderOptions) {
    super();
    const ratio = 16;
    if (options.inputSize % ratio !== 0) {
      throw new Error(`HyMambaEncoder: inputSize ${options.inputSize} must be a multiple of 16 (four 2× poolings)`);
    }
    this.grid = options.inputSize / ratio;
    this.embeddings = this.registerModule('embeddings', new Embeddings(options));
    this.mae = this.registerModule('mae', new MambaStage(this.grid, options.channels[4], options));
  }

  /**
   * volume: (B, inC, S, S, S), already multiplied by the input mask when `masks` is given. Returns
   * [s1 | null, s2, s3, s4, y] with y the Mamba stage output (B, c4, S/16 …) and the token orders used.
   */
  forward(
    volume: Tensor,
    masks: SparseMasks | null,
    options: { withFullResolution?: boolean } = {},
  ): { features: (Tensor | null)[]; orders: Int32Array[] | null } {
    return tidy(() => {
      const { skips, deepest } = this.embeddings.forward(volume, masks, options.withFullResolution ?? !masks);
      const { out, orders } = this.mae.forward(deepest, masks ? masks.visible : null);
      return { features: [...skips, out], orders };
    });
  }
}
