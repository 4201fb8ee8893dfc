/**
 * Fixture adapters of @mim/losses (`@mim/losses/fixtures`), discovered by the `mim-fixture` runner of
 * @mim/tensor: ops `masked_mse_normpix` and `info_nce` of fixtures/README.md.
 */
import type { FixtureAdapter } from '@mim/tensor';
import { infoNce } from './info-nce.js';
import { maskedMseNormPix } from './masked-mse-normpix.js';

const numberParam = (params: Record<string, unknown>, name: string, op: string): number => {
  const value = params[name];
  if (typeof value !== 'number') throw new Error(`${op} fixture: params.${name} must be a number, got ${value}`);
  return value;
};

export const fixtureAdapters: FixtureAdapter[] = [
  {
    op: 'masked_mse_normpix',
    forward(inputs) {
      const p = numberParam(inputs.params, 'patch_size', 'masked_mse_normpix');
      const options = {
        varianceEpsilon: (inputs.params.var_eps as number | undefined) ?? 1e-6,
        denominatorEpsilon: (inputs.params.den_eps as number | undefined) ?? 1e-8,
      };
      if (inputs.params.var_unbiased === false) {
        throw new Error('masked_mse_normpix fixture: only var_unbiased = true (the official loss) is implemented');
      }
      const loss = maskedMseNormPix(inputs.tensor('rec'), inputs.tensor('x'), inputs.tensor('visible'), p, options);
      return { out_loss: loss };
    },
  },
  {
    op: 'info_nce',
    forward(inputs) {
      const tau = numberParam(inputs.params, 'tau', 'info_nce');
      return { out_loss: infoNce(inputs.tensor('c'), inputs.tensor('p'), inputs.tensor('pos'), tau) };
    },
  },
];
