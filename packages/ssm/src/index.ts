/**
 * @mim/ssm — selective scan (Mamba S6), causal conv1d, Mamba / BiMamba layers and TOKI token interpolation
 * on WebGPU. Nothing is implemented yet: this entry point exists so the package builds, type-checks and
 * publishes in dependency order. See README.md for what it will hold.
 */
export {};
export * from './toki/index.js';
