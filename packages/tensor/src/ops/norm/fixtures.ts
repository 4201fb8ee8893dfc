/**
 * Fixture adapters (fixtures/README.md: layer_norm, group_norm, batch_norm3d, instance_norm3d) for the
 * `mim-fixture` runner. Inputs by the files' names; the params drive eps, groups, training and affine.
 */
import type { FixtureAdapter, FixtureInputs } from '../../fixture/adapter.js';
import type { Tensor } from '../../tensor.js';
import { batchNorm3d, groupNorm, instanceNorm3d } from './group-norm.js';
import { layerNorm } from './layer-norm.js';

const optional = (inputs: FixtureInputs, name: string): Tensor | null =>
  inputs.has(name) ? inputs.tensor(name) : null;
const eps = (inputs: FixtureInputs): number => Number(inputs.params.eps ?? 1e-5);

export const normFixtureAdapters: FixtureAdapter[] = [
  {
    op: 'layer_norm',
    forward: (inputs) => {
      const x = inputs.tensor('x');
      const normalized = (inputs.params.normalized_shape as number[] | undefined) ?? [x.shape[x.rank - 1]];
      if (normalized.length !== 1 || normalized[0] !== x.shape[x.rank - 1]) {
        throw new Error(`layer_norm fixture: normalized_shape ${JSON.stringify(normalized)} is not the last axis`);
      }
      return {
        out: layerNorm(x, optional(inputs, 'weight'), optional(inputs, 'bias'), { eps: eps(inputs), axis: 'last' }),
      };
    },
  },
  {
    op: 'group_norm',
    forward: (inputs) => ({
      out: groupNorm(
        inputs.tensor('x'),
        Number(inputs.params.groups),
        optional(inputs, 'weight'),
        optional(inputs, 'bias'),
        {
          eps: eps(inputs),
        },
      ),
    }),
  },
  {
    op: 'batch_norm3d',
    forward: (inputs) => ({
      out: batchNorm3d(
        inputs.tensor('x'),
        optional(inputs, 'running_mean'),
        optional(inputs, 'running_var'),
        optional(inputs, 'weight'),
        optional(inputs, 'bias'),
        {
          eps: eps(inputs),
          training: inputs.params.training !== false,
          momentum: Number(inputs.params.momentum ?? 0.1),
        },
      ),
    }),
  },
  {
    op: 'instance_norm3d',
    forward: (inputs) => ({
      out: instanceNorm3d(inputs.tensor('x'), optional(inputs, 'weight'), optional(inputs, 'bias'), {
        eps: eps(inputs),
      }),
    }),
  },
];
