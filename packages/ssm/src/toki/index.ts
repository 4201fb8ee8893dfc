export { tokiRefCpu, tokiTokensRef } from './reference.js';
export { type TokiOptions, toki } from './toki.js';
export { tokiRef } from './toki-ref.js';
