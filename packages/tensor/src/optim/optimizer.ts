/**
 * Optimiser base: parameter groups with their own lr / weight decay, per-parameter state tensors on the GPU,
 * and state save/restore (tensors by "<param name>.<state>" plus a JSON of hyper-parameters and step) so a
 * resumed run continues exactly.
 */

import type { Module, StateEntry } from '../nn/module.js';
import { copyTensorInto, writeInto } from '../nn/module.js';
import { zerosLike } from '../ops/creation.js';
import { contiguous } from '../ops/movement/copy.js';
import { MimError } from '../runtime/errors.js';
import { keep } from '../scope.js';
import type { Tensor } from '../tensor.js';

export type NamedParameters = Iterable<[string, Tensor]>;

export interface ParamGroupSpec {
  params: NamedParameters | Tensor[];
  lr?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: [string, Tensor][];
  lr: number;
  weightDecay: number;
  /** The lr this group was created with; schedules multiply it. */
  baseLr: number;
}

export interface OptimizerState {
  step: number;
  groups: { lr: number; weightDecay: number; baseLr: number; params: string[] }[];
  hyper: Record<string, unknown>;
}

function named(params: NamedParameters | Tensor[], offset: number): [string, Tensor][] {
  const list = [...(params as Iterable<unknown>)];
  return list.map((item, i) =>
    Array.isArray(item) ? (item as [string, Tensor]) : [`param${offset + i}`, item as Tensor],
  );
}

/** Splits a module's parameters into decay / no-decay groups: 1-D tensors (norms) and biases get none. */
export function paramGroupsNoDecay(module: Module, weightDecay: number): ParamGroupSpec[] {
  const decay: [string, Tensor][] = [];
  const noDecay: [string, Tensor][] = [];
  for (const [name, p] of module.namedParameters()) {
    (p.rank <= 1 || name.endsWith('.bias') ? noDecay : decay).push([name, p]);
  }
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}

export abstract class Optimizer {
  readonly groups: ParamGroup[];
  /** Completed update steps. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, Map<string, Tensor>>();

  constructor(
    params: NamedParameters | Tensor[] | ParamGroupSpec[] | Module,
    defaults: { lr: number; weightDecay: number },
  ) {
    let specs: ParamGroupSpec[];
    if (typeof (params as Module).namedParameters === 'function') {
      specs = [{ params: (params as Module).namedParameters() }];
    } else {
      const list = [...(params as Iterable<unknown>)];
      const isGroups =
        list.length > 0 && typeof list[0] === 'object' && list[0] !== null && 'params' in (list[0] as object);
      specs = isGroups ? (list as ParamGroupSpec[]) : [{ params: list as Tensor[] }];
    }
    let offset = 0;
    this.groups = specs.map((spec) => {
      const params = named(spec.params, offset);
      offset += params.length;
      const lr = spec.lr ?? defaults.lr;
      return { params, lr, baseLr: lr, weightDecay: spec.weightDecay ?? defaults.weightDecay };
    });
  }

  /** The named state tensor of a parameter, created as zeros on first use. */
  protected stateOf(p: Tensor, name: string): Tensor {
    let slots = this.state.get(p);
    if (!slots) this.state.set(p, (slots = new Map()));
    let t = slots.get(name);
    if (!t) slots.set(name, (t = keep(zerosLike(p))));
    return t;
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    for (const group of this.groups) {
      for (const [name, p] of group.params) {
        if (!p.grad) continue;
        const g = contiguous(p.grad);
        this.update(p, g, group, name);
        g.dispose();
      }
    }
  }

  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup, name: string): void;
  protected abstract hyper(): Record<string, unknown>;
  protected abstract setHyper(hyper: Record<string, unknown>): void;

  /** Frees every parameter's gradient. */
  zeroGrad(): void {
    for (const group of this.groups) {
      for (const [, p] of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Sets every group's lr to baseLr × factor (what schedules call each step). */
  setLrFactor(factor: number): void {
    for (const group of this.groups) group.lr = group.baseLr * factor;
  }

  /** State tensors by "<param name>.<slot>" and the JSON-able rest. */
  stateDict(): { tensors: Map<string, Tensor>; state: OptimizerState } {
    const tensors = new Map<string, Tensor>();
    for (const group of this.groups) {
      for (const [name, p] of group.params) {
        for (const [slot, t] of this.state.get(p) ?? []) tensors.set(`${name}.${slot}`, t);
      }
    }
    return {
      tensors,
      state: {
        step: this.stepCount,
        groups: this.groups.map((g) => ({
          lr: g.lr,
          weightDecay: g.weightDecay,
          baseLr: g.baseLr,
          params: g.params.map(([n]) => n),
        })),
        hyper: this.hyper(),
      },
    };
  }

  /** Restores what `stateDict()` produced (same parameter names and groups). */
  loadStateDict(tensors: Map<string, StateEntry | Tensor>, state: OptimizerState): void {
    if (state.groups.length !== this.groups.length) {
      throw new MimError(
        `optimizer.loadStateDict: checkpoint has ${state.groups.length} parameter groups, this optimizer ${this.groups.length}`,
      );
    }
    const problems: string[] = [];
    state.groups.forEach((saved, i) => {
      const group = this.groups[i];
      const names = group.params.map(([n]) => n);
      if (saved.params.join('\n') !== names.join('\n')) problems.push(`group ${i}: parameter names differ`);
      group.lr = saved.lr;
      group.weightDecay = saved.weightDecay;
      group.baseLr = saved.baseLr;
    });
    if (problems.length) throw new MimError(`optimizer.loadStateDict: ${problems.join('; ')}`);
    this.stepCount = state.step;
    this.setHyper(state.hyper);
    for (const group of this.groups) {
      for (const [name, p] of group.params) {
        const prefix = `${name}.`;
        for (const [key, entry] of tensors) {
          if (!key.startsWith(prefix)) continue;
          const slot = key.slice(prefix.length);
          if (slot.includes('.')) continue;
          const target = this.stateOf(p, slot);
          if ('data' in entry) writeInto(target, entry.data, key);
          else copyTensorInto(target, entry, key);
        }
      }
    }
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const slots of this.state.values()) for (const t of slots.values()) t.dispose();
    this.state.clear();
  }
}
