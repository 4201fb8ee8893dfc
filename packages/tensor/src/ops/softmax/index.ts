export { type CrossEntropyOptions, crossEntropy } from './cross-entropy.js';
export { logSoftmax, softmax } from './softmax.js';
