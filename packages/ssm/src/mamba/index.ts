export {
  type BiMambaMode,
  DepthwiseConv1d,
  Mamba,
  type MambaInitScheme,
  MambaLayer,
  type MambaOptions,
  Mlp,
} from './mamba.js';
