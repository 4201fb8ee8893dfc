/**
 * Checkpoints on safetensors files. The model's state dict is stored under its PyTorch-style names (so the
 * file loads into the equivalent PyTorch module: `model.load_state_dict(safetensors.torch.load_file(path))`
 * when no optimizer state was saved). Optimizer state, when saved, goes under `optimizer.<param>.<slot>`
 * (filter those keys out before loading into PyTorch); hyper-parameters, step, `config` and `extra` are JSON
 * strings in `__metadata__`. Files are written to a temp file and renamed, so a crash never leaves a torn file.
 */
import type { Module, StateEntry } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { MimError } from '../runtime/errors.js';
import type { Tensor } from '../tensor.js';
import {
  entryToTypedArray,
  parseSafetensors,
  type SafetensorsEntry,
  SafetensorsError,
  serializeSafetensors,
} from './safetensors.js';

const OPTIMIZER_PREFIX = 'optimizer.';
/** Buffers PyTorch keeps as int64. */
const INT64_SUFFIXES = ['num_batches_tracked'];

export interface SaveOptions {
  optimizer?: Optimizer;
  /** Any JSON (step, epoch, RNG state …). */
  extra?: unknown;
  /** The model configuration (JSON) — lets a loader rebuild the model. */
  config?: unknown;
}

async function entryOf(name: string, t: Tensor): Promise<SafetensorsEntry> {
  const data = await t.toArray();
  if (t.dtype === 'i32' && INT64_SUFFIXES.some((s) => name.endsWith(s))) {
    const wide = BigInt64Array.from(data as Int32Array, (v) => BigInt(v));
    return { dtype: 'I64', shape: [...t.shape], data: new Uint8Array(wide.buffer) };
  }
  const dtype = t.dtype === 'f32' ? 'F32' : t.dtype === 'i32' ? 'I32' : 'U32';
  return { dtype, shape: [...t.shape], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Serialises a checkpoint to bytes (works without a file system, e.g. in browsers). */
export async function checkpointBytes(module: Module, options: SaveOptions = {}): Promise<Uint8Array> {
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, t] of module.stateDict()) entries.push([name, await entryOf(name, t)]);
  const metadata: Record<string, string> = { format: 'pt', producer: '@mim/tensor' };
  if (options.optimizer) {
    const { tensors, state } = options.optimizer.stateDict();
    for (const [name, t] of tensors) entries.push([`${OPTIMIZER_PREFIX}${name}`, await entryOf(name, t)]);
    metadata.optimizer = JSON.stringify(state);
  }
  if (options.config !== undefined) metadata.config = JSON.stringify(options.config);
  if (options.extra !== undefined) metadata.extra = JSON.stringify(options.extra);
  return serializeSafetensors(entries, metadata);
}

/** Writes a checkpoint atomically (temp file in the same folder, then rename). */
export async function saveCheckpoint(path: string, module: Module, options: SaveOptions = {}): Promise<void> {
  const bytes = await checkpointBytes(module, options);
  const fs = await import('node:fs/promises');
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw new MimError(`saveCheckpoint: could not write ${path}: ${(error as Error).message}`);
  }
}

export interface LoadedCheckpoint {
  config: unknown;
  extra: unknown;
  metadata: Record<string, string>;
  /** Keys of the file the module does not have (strict: false only). */
  unexpected: string[];
  missing: string[];
}

function toStateEntry(name: string, entry: SafetensorsEntry, source: string): StateEntry {
  const values = entryToTypedArray(entry);
  if (values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint32Array) {
    return { shape: entry.shape, data: values };
  }
  if (values instanceof BigInt64Array) {
    return { shape: entry.shape, data: Int32Array.from(values, (v) => Number(v)) };
  }
  if (values instanceof Float64Array) return { shape: entry.shape, data: Float32Array.from(values) };
  if (
    values instanceof Uint8Array ||
    values instanceof Int8Array ||
    values instanceof Int16Array ||
    values instanceof Uint16Array
  ) {
    return { shape: entry.shape, data: Int32Array.from(values) };
  }
  throw new SafetensorsError(`${source}: tensor "${name}" has dtype ${entry.dtype}, which cannot be loaded`);
}

/** Loads a checkpoint from bytes into `module` (and `optimizer` when given and present). */
export function loadCheckpointBytes(
  bytes: Uint8Array,
  module: Module,
  options: { optimizer?: Optimizer; strict?: boolean; source?: string } = {},
): LoadedCheckpoint {
  const source = options.source ?? 'checkpoint';
  const file = parseSafetensors(bytes, source);
  const model = new Map<string, StateEntry>();
  const optimizerTensors = new Map<string, StateEntry>();
  for (const [name, entry] of file.tensors) {
    if (name.startsWith(OPTIMIZER_PREFIX))
      optimizerTensors.set(name.slice(OPTIMIZER_PREFIX.length), toStateEntry(name, entry, source));
    else model.set(name, toStateEntry(name, entry, source));
  }
  let result: { missing: string[]; unexpected: string[] };
  try {
    result = module.loadStateDict(model, { strict: options.strict ?? true });
  } catch (error) {
    throw new MimError(`${source}: ${(error as Error).message}`);
  }
  if (options.optimizer) {
    if (!file.metadata.optimizer) throw new MimError(`${source}: has no optimizer state (saved without { optimizer })`);
    options.optimizer.loadStateDict(optimizerTensors, JSON.parse(file.metadata.optimizer) as OptimizerState);
  }
  const parse = (key: string) => (file.metadata[key] === undefined ? undefined : JSON.parse(file.metadata[key]));
  return { config: parse('config'), extra: parse('extra'), metadata: file.metadata, ...result };
}

/** Reads and loads a checkpoint file. Errors name the file. */
export async function loadCheckpoint(
  path: string,
  module: Module,
  options: { optimizer?: Optimizer; strict?: boolean } = {},
): Promise<LoadedCheckpoint> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (error) {
    throw new MimError(`loadCheckpoint: cannot read ${path}: ${(error as Error).message}`);
  }
  return loadCheckpointBytes(bytes, module, { ...options, source: path });
}
