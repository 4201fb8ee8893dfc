/**
 * MambaMIM configurations (METHODS.md §5.1): `tiny32`, `tiny48`, `paper`, and JSON loading. Every field is
 * named; the option defaults are the intended (non-official) behaviour — see README.md for the official flags.
 */
import type { BiMambaMode, MambaInitScheme } from '@mim/ssm';
import type { MambaSequence } from './hymamba/encoder.js';

export interface MambaMimConfig {
  name: string;
  inputSize: number;
  inChannels: number;
  /** Stem and stage widths (c0 … c4); c4 is the Mamba dimension (divisible by 6). */
  channels: [number, number, number, number, number];
  /** MedNeXt blocks in layer2 … layer5. */
  depths: [number, number, number, number];
  /** MedNeXt expansion ratios of layer2 … layer5. */
  expansions: [number, number, number, number];
  kernelSize: number;
  mambaDepth: number;
  dState: number;
  dConv: number;
  expand: number;
  mlpRatio: number;
  /** LightDecoder width (halved at each of the 4 UNet blocks). */
  decoderWidth: number;
  maskRatio: number;
  mambaSeq: MambaSequence;
  bimamba: BiMambaMode;
  initScheme: MambaInitScheme;
  /** TOKI layout: `intended` (T[:, q] at position q) or `official` (the official reshape scramble). */
  tokiLayout: 'intended' | 'official';
  tokiVariant: 'official' | 'paper';
  /** Seed of the parameter initialisation and of the mask generator. */
  seed: number;
}

const common = {
  inChannels: 1,
  kernelSize: 3,
  dConv: 4,
  expand: 2,
  mlpRatio: 2,
  maskRatio: 0.75,
  mambaSeq: 'visibleOnly',
  bimamba: 'none',
  initScheme: 'mambamim',
  tokiLayout: 'intended',
  tokiVariant: 'official',
  seed: 0,
} as const;

export const MAMBAMIM_CONFIGS: Record<'tiny32' | 'tiny48' | 'paper', MambaMimConfig> = {
  tiny32: {
    ...common,
    name: 'tiny32',
    inputSize: 32,
    channels: [8, 16, 24, 32, 48],
    depths: [1, 1, 1, 1],
    expansions: [2, 2, 2, 2],
    mambaDepth: 2,
    dState: 8,
    decoderWidth: 64,
  },
  tiny48: {
    ...common,
    name: 'tiny48',
    inputSize: 48,
    channels: [8, 16, 32, 48, 96],
    depths: [1, 1, 1, 1],
    expansions: [2, 2, 2, 2],
    mambaDepth: 2,
    dState: 8,
    decoderWidth: 96,
  },
  paper: {
    ...common,
    name: 'paper',
    inputSize: 96,
    channels: [32, 64, 128, 192, 384],
    depths: [2, 2, 2, 1],
    expansions: [2, 4, 4, 4],
    mambaDepth: 4,
    dState: 16,
    decoderWidth: 768,
  },
};

/** The official flags (fixtures/models/README.md): forward-only Mamba, official TOKI layout, batch-sum sequence. */
export const OFFICIAL_FLAGS = {
  bimamba: 'none',
  tokiLayout: 'official',
  tokiVariant: 'official',
  mambaSeq: 'officialBatchSum',
} as const satisfies Partial<MambaMimConfig>;

const choices: Partial<Record<keyof MambaMimConfig, readonly string[]>> = {
  mambaSeq: ['visibleOnly', 'officialBatchSum'],
  bimamba: ['none', 'v1', 'v2'],
  initScheme: ['mambamim', 'mamba'],
  tokiLayout: ['intended', 'official'],
  tokiVariant: ['official', 'paper'],
};

/**
 * A configuration from a preset name, a partial object over a preset (`{ base: 'tiny48', maskRatio: 0.6 }`), or
 * JSON text of either. Unknown keys and invalid values throw, naming the key.
 */
export function resolveMambaMimConfig(
  input: string | (Partial<MambaMimConfig> & { base?: keyof typeof MAMBAMIM_CONFIGS }),
): MambaMimConfig {
  let spec: Partial<MambaMimConfig> & { base?: string };
  if (typeof input === 'string') {
    if (input in MAMBAMIM_CONFIGS) return structuredClone(MAMBAMIM_CONFIGS[input as keyof typeof MAMBAMIM_CONFIGS]);
    try {
      spec = JSON.parse(input);
    } catch {
      throw new Error(
        `MambaMIM config: "${input.slice(0, 40)}" is neither a preset (${Object.keys(MAMBAMIM_CONFIGS).join(', ')}) nor JSON`,
      );
    }
  } else {
    spec = input;
  }
  const baseName = spec.base ?? spec.name ?? 'tiny32';
  const base = MAMBAMIM_CONFIGS[baseName as keyof typeof MAMBAMIM_CONFIGS];
  if (!base)
    throw new Error(`MambaMIM config: unknown base "${baseName}" (${Object.keys(MAMBAMIM_CONFIGS).join(', ')})`);
  const config = structuredClone(base) as MambaMimConfig & Record<string, unknown>;
  for (const [key, value] of Object.entries(spec)) {
    if (key === 'base') continue;
    if (!(key in base)) throw new Error(`MambaMIM config: unknown key "${key}"`);
    const allowed = choices[key as keyof MambaMimConfig];
    if (allowed && !allowed.includes(value as string)) {
      throw new Error(`MambaMIM config: ${key} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
    }
    config[key] = value;
  }
  if (config.inputSize % 16 !== 0) throw new Error(`MambaMIM config: inputSize ${config.inputSize} must divide by 16`);
  if (config.channels[4] % 6 !== 0) {
    throw new Error(`MambaMIM config: the Mamba width channels[4] = ${config.channels[4]} must divide by 6`);
  }
  return config;
}
