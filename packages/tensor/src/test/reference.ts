/**
 * Float64 reference implementations, re-exported from each op folder. Test-only: the library never calls
 * them (no CPU fallback).
 */
export {};
export * from '../random/reference.js';
export * from '../ops/elementwise/reference.js';
export * from '../ops/reduce/reference.js';
export * from '../ops/movement/views-reference.js';
export * from '../ops/movement/indexing-reference.js';
export * from '../ops/matmul/reference.js';
