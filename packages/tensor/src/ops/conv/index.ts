/** 3D convolutions (NCDHW): conv3d, convTranspose3d and their fixture adapters. */
export {
  type Conv3dKernel,
  type Conv3dOptions,
  type ConvTranspose3dKernel,
  type ConvTranspose3dOptions,
  conv3d,
  convTranspose3d,
} from './conv3d.js';
export { convFixtureAdapters } from './fixtures.js';
export type { SpatialParam } from './geometry.js';
