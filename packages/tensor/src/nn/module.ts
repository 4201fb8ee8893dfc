/**
 * A small Module system in the spirit of torch.nn: named parameters and buffers, nested modules,
 * train()/eval(), and state dicts with PyTorch-style dotted names ("stages.0.blocks.1.conv1.weight") so weights
 * move between this library and PyTorch by key.
 *
 * Subclasses register everything explicitly, under the exact PyTorch attribute name:
 *   this.weight = this.registerParameter('weight', zeros([out, in]));
 *   this.norm = this.registerModule('norm', new LayerNorm(dim));
 * and define their own `forward(...)` with whatever signature fits.
 */
import type { DType } from '../dtype.js';
import { getEngine } from '../runtime/engine.js';
import { fmtShape, MimError, ShapeError } from '../runtime/errors.js';
import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';

/** Raw data for one state-dict entry (e.g. read from a safetensors file). */
export interface StateEntry {
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint32Array;
}

export interface LoadResult {
  missing: string[];
  unexpected: string[];
}

export class StateDictError extends MimError {
  override name = 'StateDictError';
}

export abstract class Module {
  /** True in training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private readonly parameterSlots = new Map<string, Tensor | null>();
  private readonly bufferSlots = new Map<string, { tensor: Tensor | null; persistent: boolean }>();
  private readonly moduleSlots = new Map<string, Module | null>();

  /** Registers a trainable parameter (sets requiresGrad, removes it from open scopes). Returns it. */
  protected registerParameter(name: string, value: Tensor): Tensor;
  protected registerParameter(name: string, value: null): null;
  protected registerParameter(name: string, value: Tensor | null): Tensor | null {
    if (value) {
      keep(value);
      if (!value.requiresGrad) value.requiresGrad = true;
    }
    this.parameterSlots.set(name, value);
    return value;
  }

  /** Registers a buffer (running statistics, masks …); non-persistent buffers stay out of the state dict. */
  protected registerBuffer(name: string, value: Tensor | null, persistent = true): Tensor | null {
    if (value) keep(value);
    this.bufferSlots.set(name, { tensor: value, persistent });
    return value;
  }

  /** Registers a child module under `name`. Returns it. */
  protected registerModule<M extends Module | null>(name: string, module: M): M {
    this.moduleSlots.set(name, module);
    return module;
  }

  /** Replaces a registered buffer's tensor (e.g. after an op produced the new running mean). */
  protected setBuffer(name: string, value: Tensor): void {
    const slot = this.bufferSlots.get(name);
    if (!slot) throw new MimError(`setBuffer: no buffer "${name}" on ${this.constructor.name}`);
    keep(value);
    if (slot.tensor && slot.tensor !== value) slot.tensor.dispose();
    slot.tensor = value;
  }

  protected getBuffer(name: string): Tensor | null {
    return this.bufferSlots.get(name)?.tensor ?? null;
  }

  train(mode = true): this {
    this.training = mode;
    for (const child of this.moduleSlots.values()) child?.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Direct children with their names. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, module] of this.moduleSlots) if (module) yield [name, module];
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, p] of module.parameterSlots) if (p) yield [path ? `${path}.${name}` : name, p];
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(prefix = '', persistentOnly = false): Generator<[string, Tensor]> {
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, slot] of module.bufferSlots) {
        if (slot.tensor && (!persistentOnly || slot.persistent)) yield [path ? `${path}.${name}` : name, slot.tensor];
      }
    }
  }

  /** Number of parameter elements (trainable tensors only). */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Parameters and persistent buffers by dotted name, in registration order (like torch's state_dict). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [path, module] of this.namedModules()) {
      const join = (name: string) => (path ? `${path}.${name}` : name);
      for (const [name, p] of module.parameterSlots) if (p) out.set(join(name), p);
      for (const [name, slot] of module.bufferSlots)
        if (slot.tensor && slot.persistent) out.set(join(name), slot.tensor);
    }
    return out;
  }

  /**
   * Copies values into the existing parameters and buffers (their identity is kept, so optimizers stay valid).
   * Strict mode throws listing every missing key, unexpected key and shape mismatch, not just the first.
   */
  loadStateDict(entries: Map<string, StateEntry | Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [key, target] of own) {
      const entry = entries.get(key);
      if (!entry) continue;
      const shape = entry.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      if (size !== target.size || shape.length !== target.rank || shape.some((d, i) => d !== target.shape[i])) {
        mismatched.push(`${key}: checkpoint ${fmtShape(shape)} vs model ${fmtShape(target.shape)}`);
      }
    }
    const problems: string[] = [];
    if (mismatched.length) problems.push(`shape mismatches (${mismatched.length}):\n  ${mismatched.join('\n  ')}`);
    if (strict && missing.length) problems.push(`missing keys (${missing.length}):\n  ${missing.join('\n  ')}`);
    if (strict && unexpected.length)
      problems.push(`unexpected keys (${unexpected.length}):\n  ${unexpected.join('\n  ')}`);
    if (problems.length) {
      throw new StateDictError(`loadStateDict into ${this.constructor.name} failed:\n${problems.join('\n')}`);
    }
    const engine = getEngine('loadStateDict');
    for (const [key, target] of own) {
      const entry = entries.get(key);
      if (!entry) continue;
      const data = 'data' in entry ? entry.data : null;
      if (data) {
        writeInto(target, data, key, engine);
      } else {
        copyTensorInto(target, entry as Tensor, key);
      }
    }
    return { missing, unexpected };
  }

  /** Frees every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees all parameters and buffers. The module is unusable afterwards. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }

  /** Calls `fn` on every module (children first, like torch's apply). */
  apply(fn: (module: Module, name: string) => void): this {
    const all = [...this.namedModules()].reverse();
    for (const [name, module] of all) fn(module, name);
    return this;
  }
}

function convertFor(dtype: DType, data: Float32Array | Int32Array | Uint32Array): ArrayBufferView {
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === 'i32') return data instanceof Int32Array ? data : Int32Array.from(data);
  return data instanceof Uint32Array ? data : Uint32Array.from(data);
}

/** Overwrites a (contiguous, module-owned) tensor's storage with CPU data. */
export function writeInto(
  target: Tensor,
  data: Float32Array | Int32Array | Uint32Array,
  key: string,
  engine = getEngine('writeInto'),
): void {
  if (!target.isContiguous) throw new ShapeError(`${key}: parameters must be contiguous to load into`);
  if (data.length !== target.size) throw new ShapeError(`${key}: ${data.length} values for ${fmtShape(target.shape)}`);
  engine.write(target.bufferFor(key), target.offset * 4, convertFor(target.dtype, data), false);
}

/** Copies another tensor's values into `target` on the GPU. */
export function copyTensorInto(target: Tensor, source: Tensor, key: string): void {
  if (source.size !== target.size)
    throw new ShapeError(`${key}: ${fmtShape(source.shape)} into ${fmtShape(target.shape)}`);
  const engine = getEngine('copyTensorInto');
  if (!source.isContiguous) throw new ShapeError(`${key}: source must be contiguous`);
  engine.copyBuffer(
    source.bufferFor(key),
    source.offset * 4,
    target.bufferFor(key),
    target.offset * 4,
    target.size * 4,
  );
}
