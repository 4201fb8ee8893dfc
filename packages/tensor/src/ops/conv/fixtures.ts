/**
 * Fixture adapters (shared fixture format, see fixtures/README.md) for `conv3d` and `conv_transpose3d`:
 * inputs `x`, `weight`, optional `bias`; params kernel_size, stride, padding, groups, dilation, output_padding;
 * output `out`.
 */
import type { FixtureAdapter, FixtureInputs } from '../../fixture/adapter.js';
import { conv3d, convTranspose3d } from './conv3d.js';
import type { SpatialParam } from './geometry.js';

function spatial(params: Record<string, unknown>, key: string, fallback: number): SpatialParam {
  const v = params[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as [number, number, number];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return v[0];
  throw new Error(`conv fixture: param ${key} must be a number or [d, h, w], got ${JSON.stringify(v)}`);
}

const bias = (inputs: FixtureInputs) => (inputs.has('bias') ? inputs.tensor('bias') : null);

export const convFixtureAdapters: FixtureAdapter[] = [
  {
    op: 'conv3d',
    forward: (inputs) => ({
      out: conv3d(inputs.tensor('x'), inputs.tensor('weight'), bias(inputs), {
        stride: spatial(inputs.params, 'stride', 1),
        padding: spatial(inputs.params, 'padding', 0),
        dilation: spatial(inputs.params, 'dilation', 1),
        groups: Number(inputs.params.groups ?? 1),
      }),
    }),
  },
  {
    op: 'conv_transpose3d',
    forward: (inputs) => ({
      out: convTranspose3d(inputs.tensor('x'), inputs.tensor('weight'), bias(inputs), {
        stride: spatial(inputs.params, 'stride', 1),
        padding: spatial(inputs.params, 'padding', 0),
        outputPadding: spatial(inputs.params, 'output_padding', 0),
        dilation: spatial(inputs.params, 'dilation', 1),
        groups: Number(inputs.params.groups ?? 1),
      }),
    }),
  },
];
