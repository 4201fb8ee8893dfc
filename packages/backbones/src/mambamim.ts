/**
 * The MambaMIM pre-training model (METHODS.md §3; official `MambaMIM`): bottom-up masking, the sparse HyMamba
 * encoder, densify (TOKI at the deepest level, per-level mask tokens elsewhere, projections), the LightDecoder
 * and the masked per-patch-normalised MSE. State-dict keys equal the official `MambaMIM.state_dict()`:
 * `A_interpolation`, `sparse_encoder.*`, `dense_decoder.*`, `densify_projs.*`, `mask_tokens.*`.
 */
import { maskedMseNormPix } from '@mim/losses';
import { randomPatchMask } from '@mim/masking';
import { toki } from '@mim/ssm';
import {
  Conv3d,
  empty,
  Identity,
  Module,
  ModuleList,
  mul,
  reshape,
  type Tensor,
  tidy,
  weightInit,
  where,
} from '@mim/tensor';
import { type MambaMimConfig, resolveMambaMimConfig } from './config.js';
import { LightDecoder } from './decoder.js';
import { HyMambaEncoder } from './hymamba/encoder.js';
import { ParameterList } from './parameter-list.js';
import { SparseMasks } from './sparse.js';

export interface MambaMimOutput {
  /** Scalar loss (shape []). */
  loss: Tensor;
  /** The decoder output (B, 1, S, S, S), in per-patch-normalised units. */
  reconstruction: Tensor;
  /** The visibility flags used (B·f³, raster order, 1 = visible). */
  visible: Uint8Array;
  /** Per sample, the token order the Mamba stage used. */
  orders: Int32Array[];
}

export class MambaMIM extends Module {
  readonly config: MambaMimConfig;
  readonly A_interpolation: Tensor;
  readonly sparse_encoder: HyMambaEncoder;
  readonly dense_decoder: LightDecoder;
  readonly densify_projs: ModuleList<Conv3d | Identity>;
  readonly mask_tokens: ParameterList;
  readonly grid: number;
  private maskDraws = 0;

  /** A preset name (`tiny32`, `tiny48`, `paper`), JSON text, or a (partial) configuration over a `base` preset. */
  constructor(config: Parameters<typeof resolveMambaMimConfig>[0] = 'tiny32') {
    super();
    const c = resolveMambaMimConfig(config);
    this.config = c;
    const top = c.channels[4];
    this.A_interpolation = this.registerParameter('A_interpolation', weightInit.zeros(empty([1, top, top], 'f32')));
    this.sparse_encoder = this.registerModule(
      'sparse_encoder',
      new HyMambaEncoder({
        inChannels: c.inChannels,
        channels: c.channels,
        depths: c.depths,
        expansions: c.expansions,
        kernelSize: c.kernelSize,
        inputSize: c.inputSize,
        mambaDepth: c.mambaDepth,
        dState: c.dState,
        dConv: c.dConv,
        expand: c.expand,
        mlpRatio: c.mlpRatio,
        bimamba: c.bimamba,
        mambaSeq: c.mambaSeq,
        initScheme: c.initScheme,
      }),
    );
    this.grid = this.sparse_encoder.grid;
    this.dense_decoder = this.registerModule('dense_decoder', new LightDecoder(c.decoderWidth, 16));
    // Encoder widths from the deepest level up: [c4 (Mamba), c4, c3, c2, c1].
    const widths = [top, c.channels[4], c.channels[3], c.channels[2], c.channels[1]];
    this.densify_projs = this.registerModule(
      'densify_projs',
      new ModuleList(
        widths.map((e, i) => {
          // As in the official code: no projection at the deepest level when its width equals the decoder's.
          if (i === 0 && e === c.decoderWidth) return new Identity();
          const k = i === 0 ? 1 : 3;
          return new Conv3d(e, c.decoderWidth >> i, k, { padding: k >> 1 });
        }),
      ),
    );
    this.mask_tokens = this.registerModule(
      'mask_tokens',
      new ParameterList(
        widths.map((e) => weightInit.truncNormal(empty([1, e, 1, 1, 1], 'f32'), { std: 0.02, a: -0.02, b: 0.02 })),
      ),
    );
  }

  /** Draws B masks with exactly round(f³·(1 − maskRatio)) visible tokens each, from the seeded generator. */
  drawMask(batch: number): Uint8Array {
    const L = this.grid ** 3;
    const keep = Math.round(L * (1 - this.config.maskRatio));
    const seed = (this.config.seed * 1_000_003 + this.maskDraws++) >>> 0;
    return randomPatchMask(this.grid, this.config.maskRatio, seed, { batch, numMasked: L - keep }).visible;
  }

  /**
   * volume: (B, inC, S, S, S) with S = inputSize. `visible`: (B·f³) flags (raster order, 1 = visible); drawn from
   * the seeded generator with `maskRatio` when omitted.
   */
  forward(volume: Tensor, options: { visible?: Uint8Array | ArrayLike<number> } = {}): MambaMimOutput {
    const B = volume.shape[0];
    const S = this.config.inputSize;
    if (volume.rank !== 5 || volume.shape[1] !== this.config.inChannels || volume.shape.slice(2).some((d) => d !== S)) {
      throw new Error(
        `MambaMIM(${this.config.name}): volume [${volume.shape.join(', ')}] must be (B, ${this.config.inChannels}, ${S}, ${S}, ${S})`,
      );
    }
    const visible = options.visible ? Uint8Array.from(options.visible, (v) => (v ? 1 : 0)) : this.drawMask(B);
    const masks = new SparseMasks(visible, B, this.grid);
    try {
      return tidy(() => {
        const masked = mul(volume, masks.at(S));
        const { features, orders } = this.sparse_encoder.forward(masked, masks, { withFullResolution: false });
        const deepestFirst = [...features].reverse(); // [y, s4, s3, s2, s1 | null]
        const toDecoder: Tensor[] = [];
        let size = this.grid;
        for (let i = 0; i < this.dense_decoder.dec.length; i++) {
          const feature = deepestFirst[i]!;
          let filled: Tensor;
          if (i === 0) {
            const [, C] = feature.shape;
            const L = this.grid ** 3;
            const tokens = masks.tokens();
            const interpolated = toki(reshape(feature, [B, C, L]), tokens, reshape(this.A_interpolation, [C, C]), {
              variant: this.config.tokiVariant,
              layout: this.config.tokiLayout,
            });
            filled = reshape(interpolated, [B, C, this.grid, this.grid, this.grid]);
          } else {
            filled = where(masks.condition(size), feature, this.mask_tokens.at(i));
          }
          toDecoder.push(this.densify_projs.at(i).forward(filled));
          size *= 2;
        }
        const reconstruction = this.dense_decoder.forward(toDecoder);
        const visibleGrid = reshape(masks.tokens(), [B, this.grid, this.grid, this.grid]);
        const loss = maskedMseNormPix(reconstruction, volume, visibleGrid, 16);
        return { loss, reconstruction, visible, orders: orders ?? [] };
      });
    } finally {
      masks.dispose();
    }
  }
}
