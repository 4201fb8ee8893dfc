import type { FixtureAdapter } from '../../fixture/adapter.js';
import { maxPool3d } from './pool.js';

/** fixtures/README.md `max_pool3d`: x (N, C, D, H, W); params kernel_size, stride, padding. */
export const poolFixtureAdapters: FixtureAdapter[] = [
  {
    op: 'max_pool3d',
    forward: (inputs) => {
      if (inputs.params.ceil_mode) throw new Error('max_pool3d fixture: ceil_mode is not supported');
      const kernel = Number(inputs.params.kernel_size ?? 2);
      return {
        out: maxPool3d(inputs.tensor('x'), kernel, {
          stride: Number(inputs.params.stride ?? kernel),
          padding: Number(inputs.params.padding ?? 0),
        }),
      };
    },
  },
];
