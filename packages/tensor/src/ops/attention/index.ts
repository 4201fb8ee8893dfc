export { type AttentionOptions, scaledDotProductAttention } from './attention.js';
