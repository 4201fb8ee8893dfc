/** `@mim/tensor/bench`: the benchmark harness every @mim package's `npm run bench` reuses. */
export * from './harness.js';
export { type Tfjs, type TfjsPeer, tfjsPeer } from './tfjs-peer.js';
