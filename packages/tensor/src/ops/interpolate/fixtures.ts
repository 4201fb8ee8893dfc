import type { FixtureAdapter } from '../../fixture/adapter.js';
import { interpolate3d } from './interpolate.js';

/** fixtures/README.md `interpolate3d`: x (N, C, D, H, W); params size, mode 'trilinear', align_corners false. */
export const interpolateFixtureAdapters: FixtureAdapter[] = [
  {
    op: 'interpolate3d',
    forward: (inputs) => {
      const mode = String(inputs.params.mode ?? 'trilinear');
      if (mode !== 'trilinear' && mode !== 'nearest')
        throw new Error(`interpolate3d fixture: mode ${mode} is not supported`);
      if (inputs.params.align_corners) throw new Error('interpolate3d fixture: align_corners=True is not supported');
      return { out: interpolate3d(inputs.tensor('x'), { size: inputs.params.size as [number, number, number], mode }) };
    },
  },
];
