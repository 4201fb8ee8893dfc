export { avgPool3d, maxPool3d, type PoolOptions, type Triple } from './pool.js';
