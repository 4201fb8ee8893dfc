/**
 * Fixture adapters of @mim/ssm for the fixture runner (`mim-fixture` from @mim/tensor), which imports
 * `@mim/ssm/fixtures` and registers `fixtureAdapters`. Tensor names and params follow fixtures/README.md.
 */
import type { FixtureAdapter } from '@mim/tensor';
import { causalConv1d } from './conv1d/causal-conv1d.js';
import { selectiveScan } from './scan/selective-scan.js';
import { tokiFixture } from './toki/fixtures.js';

const optional = (inputs: Parameters<FixtureAdapter['forward']>[0], name: string) =>
  inputs.has(name) ? inputs.tensor(name) : null;

/** `selective_scan`: u, delta, A, Bm, Cm, Dskip, z, delta_bias; outputs out, out_last_state. */
export const selectiveScanFixture: FixtureAdapter = {
  op: 'selective_scan',
  forward(inputs) {
    const { params } = inputs;
    const { out, lastState } = selectiveScan(
      inputs.tensor('u'),
      inputs.tensor('delta'),
      inputs.tensor('A'),
      inputs.tensor('Bm'),
      inputs.tensor('Cm'),
      {
        D: optional(inputs, 'Dskip'),
        z: params.has_z === false ? null : optional(inputs, 'z'),
        deltaBias: params.has_delta_bias === false ? null : optional(inputs, 'delta_bias'),
        deltaSoftplus: params.delta_softplus === true,
        returnLastState: true,
      },
    );
    return { out, out_last_state: lastState };
  },
};

/** `causal_conv1d`: x, weight, bias; params activation (null or "silu"). */
export const causalConv1dFixture: FixtureAdapter = {
  op: 'causal_conv1d',
  forward(inputs) {
    const activation = inputs.params.activation;
    if (activation !== null && activation !== undefined && activation !== 'silu') {
      throw new Error(
        `causal_conv1d fixture: activation ${JSON.stringify(activation)} is not supported (null or "silu")`,
      );
    }
    return {
      out: causalConv1d(inputs.tensor('x'), inputs.tensor('weight'), optional(inputs, 'bias'), {
        activation: activation === 'silu' ? 'silu' : undefined,
      }),
    };
  },
};

export const fixtureAdapters: FixtureAdapter[] = [selectiveScanFixture, causalConv1dFixture, tokiFixture];
