import type { FixtureAdapter } from '../../fixture/adapter.js';
import { scaledDotProductAttention } from './attention.js';

/** fixtures/README.md `attention`: Q, K, V (B, heads, L, d) → out; params scale, causal. */
export const attentionFixtureAdapters: FixtureAdapter[] = [
  {
    op: 'attention',
    forward: (inputs) => ({
      out: scaledDotProductAttention(inputs.tensor('Q'), inputs.tensor('K'), inputs.tensor('V'), {
        scale: inputs.params.scale === undefined ? undefined : Number(inputs.params.scale),
        causal: Boolean(inputs.params.causal ?? false),
      }),
    }),
  },
];
