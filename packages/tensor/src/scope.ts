/**
 * Scopes free every tensor created inside them (like tf.tidy), except what is returned or kept.
 * `tidy(fn)` for a function, `using s = scope()` for a block; both nest.
 */
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function trackTensor(tensor: Tensor): void {
  stack[stack.length - 1]?.add(tensor);
}

/** Removes a tensor from every open scope so it survives them (the caller owns it now). */
export function keep<T extends Tensor>(tensor: T): T {
  for (const set of stack) set.delete(tensor);
  return tensor;
}

function collectTensors(value: unknown, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  if (isTensor(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out, isTensor);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, isTensor);
  }
}

export interface Scope extends Disposable {
  /** Keeps a tensor alive past the end of this scope (it moves to the enclosing scope, if any). */
  keep<T extends Tensor>(tensor: T): T;
  dispose(): void;
}

/** Opens a scope; `using s = scope()` disposes every tensor created in the block at its end. */
export function scope(): Scope {
  const set = new Set<Tensor>();
  stack.push(set);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    const index = stack.lastIndexOf(set);
    if (index >= 0) stack.splice(index, 1);
    for (const tensor of set) tensor.dispose();
  };
  return {
    keep<T extends Tensor>(tensor: T): T {
      set.delete(tensor);
      stack[stack.lastIndexOf(set) - 1]?.add(tensor);
      return tensor;
    },
    dispose: close,
    [Symbol.dispose]: close,
  };
}

/**
 * Runs `fn` and disposes every tensor it created except those in its result (a tensor, or arrays / plain
 * objects of tensors), which move to the enclosing scope. Async functions are not supported: await outside.
 */
export function tidy<T>(fn: () => T): T {
  const set = new Set<Tensor>();
  stack.push(set);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    // Nothing escapes a failed tidy: free everything it created.
    stack.splice(stack.lastIndexOf(set), 1);
    for (const tensor of set) tensor.dispose();
    throw error;
  }
  stack.splice(stack.lastIndexOf(set), 1);
  if (result instanceof Promise) {
    for (const tensor of set) tensor.dispose();
    throw new Error('tidy: the function returned a Promise; await outside tidy()');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, (v): v is Tensor => set.has(v as Tensor));
  for (const tensor of set) {
    if (kept.has(tensor)) stack[stack.length - 1]?.add(tensor);
    else tensor.dispose();
  }
  return result;
}
