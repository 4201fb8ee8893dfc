export { axisTaps, type InterpolateMode, type InterpolateOptions, interpolate3d } from './interpolate.js';
