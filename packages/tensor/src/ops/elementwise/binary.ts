/**
 * Binary elementwise ops with NumPy broadcasting. Either operand may be a plain number (passed to the kernel
 * through a uniform). Backward rules reduce broadcast gradients back to each input's shape.
 */
import { recordOp } from '../../autograd/record.js';
import type { DType } from '../../dtype.js';
import { DTypeError, fmtShape } from '../../runtime/errors.js';
import { Tensor } from '../../tensor.js';
import { sumToShape } from '../reduce/sum-to.js';
import { mapElementwise, type Operand, type TypeNamer } from './launcher.js';

function dtypeOf(name: string, a: Operand, b: Operand, fallback?: DType): DType {
  const ta = a instanceof Tensor ? a : null;
  const tb = b instanceof Tensor ? b : null;
  if (ta && tb && ta.dtype !== tb.dtype) {
    throw new DTypeError(
      `${name}: dtypes differ (${ta.dtype} ${fmtShape(ta.shape)} vs ${tb.dtype} ${fmtShape(tb.shape)}); convert one with cast()`,
    );
  }
  const dtype = (ta ?? tb)?.dtype ?? fallback;
  if (!dtype) throw new DTypeError(`${name}: needs at least one tensor operand (got two numbers)`);
  return dtype;
}

function simple(name: string, expr: string, a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf(name, a, b);
  return mapElementwise({
    name,
    inputs: [a, b],
    inputDtypes: [dtype, dtype],
    source: (t) => `fn op(a: ${t.ty(dtype)}, b: ${t.ty(dtype)}) -> ${t.ty(dtype)} { return ${expr}; }`,
  });
}

/** True for a tensor operand that requires grad (decided at forward time: a disposed input loses its flag). */
const wantsGrad = (x: Operand): x is Tensor => x instanceof Tensor && x.requiresGrad;

/** a + b */
export function add(a: Operand, b: Operand): Tensor {
  const out = simple('add', 'a + b', a, b);
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  recordOp('add', [asInput(a), asInput(b)], [out], ([g]) => [
    ga ? sumToShape(g!, sa!) : null,
    gb ? sumToShape(g!, sb!) : null,
  ]);
  return out;
}

/** a − b */
export function sub(a: Operand, b: Operand): Tensor {
  const out = simple('sub', 'a - b', a, b);
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  recordOp('sub', [asInput(a), asInput(b)], [out], ([g]) => [
    ga ? sumToShape(g!, sa!) : null,
    gb ? sumToShape(mul(g!, -1), sb!) : null,
  ]);
  return out;
}

/** a · b. Saves b only when a needs a gradient and a only when b does. */
export function mul(a: Operand, b: Operand): Tensor {
  const out = simple('mul', 'a * b', a, b);
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  const saves = savePlan([ga ? b : null, gb ? a : null]);
  recordOp(
    'mul',
    [asInput(a), asInput(b)],
    [out],
    ([g], saved) => {
      const [bSaved, aSaved] = saves.restore(saved);
      return [ga ? sumToShape(mul(g!, bSaved!), sa!) : null, gb ? sumToShape(mul(g!, aSaved!), sb!) : null];
    },
    saves.tensors,
  );
  return out;
}

/** a / b. Saves b when either input needs a gradient, and a only when b does. */
export function div(a: Operand, b: Operand): Tensor {
  const out = simple('div', 'a / b', a, b);
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  const saves = savePlan([b, gb ? a : null]);
  recordOp(
    'div',
    [asInput(a), asInput(b)],
    [out],
    ([g], saved) => {
      const [bSaved, aSaved] = saves.restore(saved);
      return [
        ga ? sumToShape(div(g!, bSaved!), sa!) : null,
        gb ? sumToShape(divGradB(g!, aSaved!, bSaved!), sb!) : null,
      ];
    },
    saves.tensors,
  );
  return out;
}

function divGradB(g: Tensor, a: Operand, b: Operand): Tensor {
  return mapElementwise({
    name: 'div_backward_b',
    inputs: [g, a, b],
    inputDtypes: ['f32', 'f32', 'f32'],
    source: (t) =>
      `fn op(g: ${t.ty('f32')}, a: ${t.ty('f32')}, b: ${t.ty('f32')}) -> ${t.ty('f32')} { return -g * a / (b * b); }`,
  });
}

/** NaN built at run time (WGSL rejects NaN constant expressions) and a NaN test that fast-math cannot fold. */
export const NAN_HELPERS = `
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

const POW_HELPER = `${NAN_HELPERS}
fn pow1(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let r = pow(abs(a), b);
  if (a >= 0.0) { return r; }
  if (fract(b) != 0.0) { return nan_f32(); }
  return select(r, -r, fract(b * 0.5) != 0.0);
}`;

function vec4Apply(t: TypeNamer, fn: string, args: string[]): string {
  const T = t.ty('f32');
  const params = args.map((x) => `${x}: ${T}`).join(', ');
  if (!t.vec) return `fn op(${params}) -> f32 { return ${fn}(${args.join(', ')}); }`;
  const c = (k: number) => `${fn}(${args.map((x) => `${x}[${k}]`).join(', ')})`;
  return `fn op(${params}) -> ${T} { return vec4<f32>(${c(0)}, ${c(1)}, ${c(2)}, ${c(3)}); }`;
}

/** a ** b (negative bases allowed for integer exponents, like PyTorch). */
export function pow(a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf('pow', a, b);
  if (dtype !== 'f32') {
    throw new DTypeError(
      `pow: expects f32 operands, got ${dtype} ${fmtShape(shapeOf(a) ?? shapeOf(b) ?? [])}; convert with cast(x, 'f32')`,
    );
  }
  const out = mapElementwise({
    name: 'pow',
    inputs: [a, b],
    helpers: POW_HELPER,
    source: (t) => vec4Apply(t, 'pow1', ['a', 'b']),
  });
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  // ∂/∂a needs (a, b); ∂/∂b needs (a, out).
  const saves = savePlan([ga || gb ? a : null, ga ? b : null, gb ? out : null]);
  recordOp(
    'pow',
    [asInput(a), asInput(b)],
    [out],
    ([g], saved) => {
      const [aSaved, bSaved, outSaved] = saves.restore(saved);
      const gradA = ga
        ? mapElementwise({
            name: 'pow_backward_a',
            inputs: [g!, aSaved!, bSaved!],
            helpers: `${POW_HELPER}\nfn pgrad(g: f32, a: f32, b: f32) -> f32 { return select(g * b * pow1(a, b - 1.0), 0.0, b == 0.0); }`,
            source: (t) => vec4Apply(t, 'pgrad', ['g', 'a', 'b']),
          })
        : null;
      const gradB = gb
        ? mapElementwise({
            name: 'pow_backward_b',
            inputs: [g!, aSaved!, outSaved!],
            helpers: 'fn pgrad(g: f32, a: f32, y: f32) -> f32 { return select(0.0, g * y * log(a), a > 0.0); }',
            source: (t) => vec4Apply(t, 'pgrad', ['g', 'a', 'y']),
          })
        : null;
      return [gradA && sumToShape(gradA, sa!), gradB && sumToShape(gradB, sb!)];
    },
    saves.tensors,
  );
  return out;
}

function minMax(name: 'minimum' | 'maximum', a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf(name, a, b);
  const builtin = name === 'minimum' ? 'min' : 'max';
  // WGSL's min/max leave NaN handling to the driver; NaN propagates here as in PyTorch.
  const out =
    dtype === 'f32'
      ? mapElementwise({
          name,
          inputs: [a, b],
          helpers: `${NAN_HELPERS}\nfn pick(a: f32, b: f32) -> f32 { return select(${builtin}(a, b), a + b, is_nan(a) || is_nan(b)); }`,
          source: (t) => vec4Apply(t, 'pick', ['a', 'b']),
        })
      : simple(name, `${builtin}(a, b)`, a, b);
  const wins = name === 'minimum' ? '<' : '>';
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  const saves = savePlan([a, b]);
  recordOp(
    name,
    [asInput(a), asInput(b)],
    [out],
    ([g], saved) => {
      const [aSaved, bSaved] = saves.restore(saved);
      // Ties split the gradient evenly, as PyTorch does.
      const share = (first: Operand, second: Operand, label: string) =>
        mapElementwise({
          name: `${name}_backward_${label}`,
          inputs: [g!, first, second],
          inputDtypes: ['f32', 'f32', 'f32'],
          source: (t) =>
            `fn op(g: ${t.ty('f32')}, a: ${t.ty('f32')}, b: ${t.ty('f32')}) -> ${t.ty('f32')} { return select(select(${t.ty('f32')}(0.0), 0.5 * g, a == b), g, a ${wins} b); }`,
        });
      return [
        ga ? sumToShape(share(aSaved ?? a, bSaved ?? b, 'a'), sa!) : null,
        gb ? sumToShape(share(bSaved ?? b, aSaved ?? a, 'b'), sb!) : null,
      ];
    },
    saves.tensors,
  );
  return out;
}

/** Elementwise minimum (NaN propagates). */
export const minimum = (a: Operand, b: Operand): Tensor => minMax('minimum', a, b);
/** Elementwise maximum (NaN propagates). */
export const maximum = (a: Operand, b: Operand): Tensor => minMax('maximum', a, b);

function compare(name: string, opText: string, a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf(name, a, b);
  return mapElementwise({
    name,
    inputs: [a, b],
    inputDtypes: [dtype, dtype],
    outDtype: 'u32',
    source: (t) =>
      `fn op(a: ${t.ty(dtype)}, b: ${t.ty(dtype)}) -> ${t.ty('u32')} { return select(${t.ty('u32')}(0u), ${t.ty('u32')}(1u), a ${opText} b); }`,
  });
}

/** Masks (u32 0/1) from comparisons. */
export const eq = (a: Operand, b: Operand): Tensor => compare('eq', '==', a, b);
export const ne = (a: Operand, b: Operand): Tensor => compare('ne', '!=', a, b);
export const lt = (a: Operand, b: Operand): Tensor => compare('lt', '<', a, b);
export const le = (a: Operand, b: Operand): Tensor => compare('le', '<=', a, b);
export const gt = (a: Operand, b: Operand): Tensor => compare('gt', '>', a, b);
export const ge = (a: Operand, b: Operand): Tensor => compare('ge', '>=', a, b);

/** The `where` kernel: cond ≠ 0 ? a : b, read as `dtype`. */
function selectByMask(name: string, cond: Tensor, a: Operand, b: Operand, dtype: DType): Tensor {
  return mapElementwise({
    name,
    inputs: [cond, a, b],
    inputDtypes: [cond.dtype, dtype, dtype],
    outDtype: dtype,
    source: (t) =>
      `fn op(c: ${t.ty(cond.dtype)}, a: ${t.ty(dtype)}, b: ${t.ty(dtype)}) -> ${t.ty(dtype)} { return select(b, a, c != ${t.ty(cond.dtype)}(0)); }`,
  });
}

/**
 * `cond ? a : b` elementwise; `cond` is a u32 (or i32) mask, non-zero meaning true. Broadcasts all three;
 * with two number branches the result is f32.
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const dtype = dtypeOf('where', a, b, 'f32');
  if (cond.dtype === 'f32') {
    throw new DTypeError(
      `where: the condition must be a u32/i32 mask, got f32 ${fmtShape(cond.shape)}; build it with a comparison (gt, eq …) or cast()`,
    );
  }
  const out = selectByMask('where', cond, a, b, dtype);
  const [ga, gb] = [wantsGrad(a), wantsGrad(b)];
  const [sa, sb] = [shapeOf(a), shapeOf(b)];
  recordOp(
    'where',
    [null, asInput(a), asInput(b)],
    [out],
    ([g], [c]) => [
      null,
      ga ? sumToShape(selectByMask('where_backward', c, g!, 0, 'f32'), sa!) : null,
      gb ? sumToShape(selectByMask('where_backward', c, 0, g!, 'f32'), sb!) : null,
    ],
    [cond],
  );
  return out;
}

/** The most negative / positive value of a dtype (clamp bounds that were left open). */
function boundFor(dtype: DType, value: number): number {
  if (dtype === 'f32') return value;
  const [lo, hi] = dtype === 'i32' ? [-2147483648, 2147483647] : [0, 4294967295];
  return Math.min(Math.max(Number.isNaN(value) ? lo : value, lo), hi);
}

/** Clamps to [min, max] (either bound may be omitted). The gradient passes where min ≤ x ≤ max. */
export function clamp(x: Tensor, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): Tensor {
  const T = (t: TypeNamer) => t.ty(x.dtype);
  const lo = boundFor(x.dtype, min);
  const hi = boundFor(x.dtype, max);
  const out = mapElementwise({
    name: 'clamp',
    inputs: [x, lo, hi],
    inputDtypes: [x.dtype, x.dtype, x.dtype],
    source: (t) => `fn op(x: ${T(t)}, lo: ${T(t)}, hi: ${T(t)}) -> ${T(t)} { return min(max(x, lo), hi); }`,
  });
  recordOp(
    'clamp',
    [x],
    [out],
    ([g], [sx]) => [
      mapElementwise({
        name: 'clamp_backward',
        inputs: [g!, sx, lo, hi],
        source: (t) =>
          `fn op(g: ${t.ty('f32')}, x: ${t.ty('f32')}, lo: ${t.ty('f32')}, hi: ${t.ty('f32')}) -> ${t.ty('f32')} { return select(${t.ty('f32')}(0.0), g, (x >= lo) & (x <= hi)); }`,
      }),
    ],
    [x],
  );
  return out;
}

/** Converts the dtype (f32 → int truncates toward zero). No gradient flows through integer results. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) {
    const same = x.detach();
    recordOp('cast', [x], [same], ([g]) => [g]);
    return same;
  }
  const out = mapElementwise({
    name: `cast_${x.dtype}_${dtype}`,
    inputs: [x],
    outDtype: dtype,
    source: (t) => `fn op(x: ${t.ty(x.dtype)}) -> ${t.ty(dtype)} { return ${t.ty(dtype)}(x); }`,
  });
  if (dtype === 'f32') recordOp('cast', [x], [out], ([g]) => [g]);
  return out;
}

function asInput(x: Operand): Tensor | null {
  return x instanceof Tensor ? x : null;
}

function shapeOf(x: Operand): readonly number[] | undefined {
  return x instanceof Tensor ? x.shape : undefined;
}

/**
 * Which operands a backward rule keeps: `wanted[k]` is saved when it is a tensor (null / numbers are not).
 * `restore` maps the saved list back onto the positions (numbers come back as numbers, unsaved as null).
 */
function savePlan(wanted: (Operand | null)[]): {
  tensors: Tensor[];
  restore: (saved: Tensor[]) => (Operand | null)[];
} {
  const tensors: Tensor[] = [];
  const slots = wanted.map((x) => {
    if (!(x instanceof Tensor)) return x;
    const found = tensors.indexOf(x);
    if (found >= 0) return { slot: found };
    tensors.push(x);
    return { slot: tensors.length - 1 };
  });
  return {
    tensors,
    restore: (saved) => slots.map((s) => (s !== null && typeof s === 'object' ? saved[s.slot] : s)),
  };
}
