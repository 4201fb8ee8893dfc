/**
 * MambaMIM's LightDecoder (METHODS.md §3.6; official `models/decoder.py`): UNet blocks (ConvTranspose3d ×2, then
 * two Conv3d k3 → BatchNorm3d → ReLU), fusion blocks on [upsampled, skip] concatenations, and a 1×1×1 projection
 * to one channel. Keys: `dec.i.up_sample.*`, `dec.i.conv.{0,1,3,4}.*`, `fuse.i.conv.*`, `proj.*`.
 */
import {
  BatchNorm3d,
  Conv3d,
  ConvTranspose3d,
  concat,
  Module,
  ModuleList,
  ReLU,
  Sequential,
  type Tensor,
  tidy,
  weightInit,
} from '@mim/tensor';

function convBnReluTwice(cin: number, cout: number): Sequential {
  return new Sequential([
    new Conv3d(cin, cout, 3, { padding: 1 }),
    new BatchNorm3d(cout),
    new ReLU(),
    new Conv3d(cout, cout, 3, { padding: 1 }),
    new BatchNorm3d(cout),
    new ReLU(),
  ]);
}

/** Upsample ×2 (transposed conv k2 s2, cin → cin), then [conv k3 → BN → ReLU] ×2 (cin → cout → cout). */
export class UNetBlock extends Module {
  readonly up_sample: ConvTranspose3d;
  readonly conv: Sequential;
  constructor(cin: number, cout: number) {
    super();
    this.up_sample = this.registerModule('up_sample', new ConvTranspose3d(cin, cin, 2, { stride: 2 }));
    this.conv = this.registerModule('conv', convBnReluTwice(cin, cout));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv.forward(this.up_sample.forward(x)));
  }
}

/** [conv k3 → BN → ReLU] ×2 (cin → cout → cout), applied to a concatenation. */
export class FusionBlock extends Module {
  readonly conv: Sequential;
  constructor(cin: number, cout: number) {
    super();
    this.conv = this.registerModule('conv', convBnReluTwice(cin, cout));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

export class LightDecoder extends Module {
  readonly channels: number[];
  readonly dec: ModuleList<UNetBlock>;
  readonly fuse: ModuleList<FusionBlock>;
  readonly proj: Conv3d;

  /** width: channels of the deepest input; upSampleRatio: 2^(number of UNet blocks). */
  constructor(
    readonly width: number,
    upSampleRatio = 16,
  ) {
    super();
    const n = Math.round(Math.log2(upSampleRatio));
    this.channels = Array.from({ length: n + 1 }, (_, i) => Math.floor(width / 2 ** i));
    const pairs = this.channels.slice(0, -1).map((cin, i) => [cin, this.channels[i + 1]] as const);
    this.dec = this.registerModule('dec', new ModuleList(pairs.map(([cin, cout]) => new UNetBlock(cin, cout))));
    // fuse.0 exists (and is saved) but is never called, as in the official code.
    this.fuse = this.registerModule('fuse', new ModuleList(pairs.map(([cin]) => new FusionBlock(2 * cin, cin))));
    this.proj = this.registerModule('proj', new Conv3d(this.channels[n], 1, 1));
    this.initialize();
  }

  /** Conv3d: trunc_normal(0.02) weights, zero bias; ConvTranspose3d: kaiming_normal(fan_out, relu), zero bias. */
  initialize(): void {
    for (const [, module] of this.namedModules()) {
      if (module instanceof Conv3d) {
        weightInit.truncNormal(module.weight, { std: 0.02 });
        if (module.bias) weightInit.zeros(module.bias);
      } else if (module instanceof ConvTranspose3d) {
        weightInit.kaimingNormal(module.weight, { mode: 'fan_out', nonlinearity: 'relu' });
        if (module.bias) weightInit.zeros(module.bias);
      }
    }
  }

  /** features: deepest first, to_dec[0] (B, width, f³) … to_dec[n−1]. Returns (B, 1, f·2ⁿ …). */
  forward(features: readonly Tensor[]): Tensor {
    return tidy(() => {
      let x = this.dec.at(0).forward(features[0]);
      for (let i = 1; i < this.dec.length; i++) {
        const fused = i < features.length ? this.fuse.at(i).forward(concat([x, features[i]], 1)) : x;
        x = this.dec.at(i).forward(fused);
      }
      return this.proj.forward(x);
    });
  }
}
