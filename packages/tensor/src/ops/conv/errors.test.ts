import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../runtime/errors.js';
import { zeros } from '../creation.js';
import { conv3d, convTranspose3d } from './conv3d.js';

describe('conv errors name the op, the shapes and a fix', () => {
  it('wrong input rank', () => {
    expect(() => conv3d(zeros([1, 2, 4, 4]), zeros([3, 2, 3, 3, 3]))).toThrow(
      /conv3d: input has 4 dims \(N, C, H, W\) \[1, 2, 4, 4\]; expected 5 \(N, C, D, H, W\) — add a depth axis with unsqueeze/,
    );
    expect(() => conv3d(zeros([1, 2, 4, 4, 4]), zeros([3, 2, 3, 3]))).toThrow(/weight has 4 dims/);
  });
  it('channel mismatch', () => {
    expect(() => conv3d(zeros([1, 4, 5, 5, 5]), zeros([3, 2, 3, 3, 3]))).toThrow(ShapeError);
    expect(() => conv3d(zeros([1, 4, 5, 5, 5]), zeros([3, 2, 3, 3, 3]))).toThrow(/expects 2 input channels per group/);
    expect(() => convTranspose3d(zeros([1, 4, 5, 5, 5]), zeros([3, 2, 2, 2, 2]))).toThrow(
      /has 3 input channels but the input/,
    );
    expect(() => conv3d(zeros([1, 2, 5, 5, 5]), zeros([3, 2, 3, 3, 3]), zeros([4]))).toThrow(
      /bias has shape \[4\]; expected \[3\]/,
    );
  });
  it('groups that do not divide the channels', () => {
    expect(() => conv3d(zeros([1, 4, 5, 5, 5]), zeros([3, 2, 3, 3, 3]), null, { groups: 2 })).toThrow(
      /groups=2 must divide both the input channels \(4\) and the output channels \(3\)/,
    );
  });
  it('kernel larger than the padded input', () => {
    expect(() => conv3d(zeros([1, 1, 5, 2, 5]), zeros([1, 1, 3, 3, 3]))).toThrow(
      /kernel extent 3 .* larger than the padded input 2 .* along H/,
    );
    expect(() => conv3d(zeros([1, 1, 5, 5, 5]), zeros([1, 1, 3, 3, 3]), null, { dilation: 3 })).toThrow(
      /kernel extent 7/,
    );
  });
  it('non-integer or zero parameters and output sizes', () => {
    expect(() => conv3d(zeros([1, 1, 5, 5, 5]), zeros([1, 1, 3, 3, 3]), null, { stride: 1.5 })).toThrow(
      /stride must be an integer/,
    );
    expect(() => conv3d(zeros([1, 1, 5, 5, 5]), zeros([1, 1, 3, 3, 3]), null, { stride: 0 })).toThrow(
      /stride must be an integer ≥ 1/,
    );
    expect(() => conv3d(zeros([1, 1, 5, 5, 5]), zeros([1, 1, 3, 3, 3]), null, { padding: [1, 1] as never })).toThrow(
      /padding/,
    );
    expect(() => convTranspose3d(zeros([1, 1, 1, 1, 1]), zeros([1, 1, 1, 1, 1]), null, { padding: 1 })).toThrow(
      /output size along D would be -1/,
    );
    expect(() =>
      convTranspose3d(zeros([1, 1, 2, 2, 2]), zeros([1, 1, 2, 2, 2]), null, { stride: 2, outputPadding: 2 }),
    ).toThrow(/outputPadding 2 along D must be smaller than the stride/);
  });
  it('forcing a kernel the shapes do not allow', () => {
    expect(() => conv3d(zeros([1, 2, 4, 4, 4]), zeros([2, 2, 3, 3, 3]), null, { kernel: 'pointwise' })).toThrow(
      /kernel 'pointwise' needs/,
    );
    expect(() => conv3d(zeros([1, 2, 4, 4, 4]), zeros([2, 2, 3, 3, 3]), null, { kernel: 'depthwise' })).toThrow(
      /kernel 'depthwise' needs/,
    );
    expect(() =>
      convTranspose3d(zeros([1, 2, 4, 4, 4]), zeros([2, 2, 3, 3, 3]), null, { kernel: 'nonoverlap' }),
    ).toThrow(/kernel 'nonoverlap' needs/);
  });
});
