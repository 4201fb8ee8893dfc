import type { FixtureAdapter } from '@mim/tensor';
import { toki } from './toki.js';

/**
 * `toki` (fixtures/README.md): F (Bt, C, L), visible (Bt, L) U8 (uploaded as u32), A (C, C); output `out`.
 * The fixtures use the intended layout and the official variant (the defaults).
 */
export const tokiFixture: FixtureAdapter = {
  op: 'toki',
  forward(inputs) {
    if (inputs.params.force_end_anchors === false) {
      throw new Error('toki fixture: force_end_anchors=false is not the official behaviour and is not supported');
    }
    return { out: toki(inputs.tensor('F'), inputs.tensor('visible'), inputs.tensor('A')) };
  },
};
