/**
 * Float64 reference implementations, re-exported from each op folder. Test-only: the library never calls
 * them (no CPU fallback).
 */

export * from '../ops/attention/reference.js';
export * from '../ops/conv/reference.js';
export * from '../ops/elementwise/reference.js';
export * from '../ops/interpolate/reference.js';
export * from '../ops/matmul/reference.js';
export * from '../ops/movement/indexing-reference.js';
export * from '../ops/movement/views-reference.js';
export * from '../ops/norm/reference.js';
export * from '../ops/pool/reference.js';
export * from '../ops/reduce/reference.js';
export * from '../ops/softmax/reference.js';
export * from '../random/reference.js';
