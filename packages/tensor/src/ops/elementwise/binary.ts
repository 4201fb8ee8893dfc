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

function dtypeOf(name: string, a: Operand, b: Operand): DType {
  const ta = a instanceof Tensor ? a : null;
  const tb = b instanceof Tensor ? b : null;
  if (ta && tb && ta.dtype !== tb.dtype) {
    throw new DTypeError(
      `${name}: dtypes differ (${ta.dtype} ${fmtShape(ta.shape)} vs ${tb.dtype} ${fmtShape(tb.shape)}); convert one with cast()`,
    );
  }
  return (ta ?? tb)!.dtype;
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

/** Sums a broadcast gradient back to the shape of operand `x` (null for numbers and inputs without grad). */
function reduceFor(g: Tensor, x: Operand): Tensor | null {
  return x instanceof Tensor ? sumToShape(g, x.shape) : null;
}

const tensors = (...xs: Operand[]): Tensor[] => xs.filter((x): x is Tensor => x instanceof Tensor);

/** a + b */
export function add(a: Operand, b: Operand): Tensor {
  const out = simple('add', 'a + b', a, b);
  recordOp('add', [a, b].map(asInput), [out], ([g]) => [reduceFor(g!, a), reduceFor(g!, b)]);
  return out;
}

/** a − b */
export function sub(a: Operand, b: Operand): Tensor {
  const out = simple('sub', 'a - b', a, b);
  recordOp('sub', [a, b].map(asInput), [out], ([g]) => [
    reduceFor(g!, a),
    b instanceof Tensor ? sumToShape(mul(g!, -1), b.shape) : null,
  ]);
  return out;
}

/** a · b */
export function mul(a: Operand, b: Operand): Tensor {
  // Captured now: by backward time an input may have been disposed (which drops its grad link).
  const needA = wantsGrad(a);
  const needB = wantsGrad(b);
  const out = simple('mul', 'a * b', a, b);
  recordOp(
    'mul',
    [a, b].map(asInput),
    [out],
    ([g], saved) => {
      const [sa, sb] = restore([a, b], saved);
      return [
        needA ? sumToShape(mul(g!, sb), (a as Tensor).shape) : null,
        needB ? sumToShape(mul(g!, sa), (b as Tensor).shape) : null,
      ];
    },
    tensors(a, b),
  );
  return out;
}

/** a / b */
export function div(a: Operand, b: Operand): Tensor {
  // Captured now: by backward time an input may have been disposed (which drops its grad link).
  const needA = wantsGrad(a);
  const needB = wantsGrad(b);
  const out = simple('div', 'a / b', a, b);
  recordOp(
    'div',
    [a, b].map(asInput),
    [out],
    ([g], saved) => {
      const [sa, sb] = restore([a, b], saved);
      return [
        needA ? sumToShape(div(g!, sb), (a as Tensor).shape) : null,
        needB ? sumToShape(divGradB(g!, sa, sb), (b as Tensor).shape) : null,
      ];
    },
    tensors(a, b),
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

const POW_HELPER = `
fn pow1(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let r = pow(abs(a), b);
  if (a >= 0.0) { return r; }
  if (fract(b) != 0.0) { return bitcast<f32>(0x7fc00000u); }
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
  // Captured now: by backward time an input may have been disposed (which drops its grad link).
  const needA = wantsGrad(a);
  const needB = wantsGrad(b);
  if (dtypeOf('pow', a, b) !== 'f32') throw new DTypeError('pow: expects f32 operands');
  const out = mapElementwise({
    name: 'pow',
    inputs: [a, b],
    helpers: POW_HELPER,
    source: (t) => vec4Apply(t, 'pow1', ['a', 'b']),
  });
  recordOp(
    'pow',
    [a, b].map(asInput),
    [out],
    ([g], saved) => {
      const [sa, sb, so] = restore([a, b, out], saved);
      const ga = needA
        ? mapElementwise({
            name: 'pow_backward_a',
            inputs: [g!, sa, sb],
            helpers: `${POW_HELPER}\nfn pgrad(g: f32, a: f32, b: f32) -> f32 { return select(g * b * pow1(a, b - 1.0), 0.0, b == 0.0); }`,
            source: (t) => vec4Apply(t, 'pgrad', ['g', 'a', 'b']),
          })
        : null;
      const gb = needB
        ? mapElementwise({
            name: 'pow_backward_b',
            inputs: [g!, sa, so],
            helpers: 'fn pgrad(g: f32, a: f32, y: f32) -> f32 { return select(0.0, g * y * log(a), a > 0.0); }',
            source: (t) => vec4Apply(t, 'pgrad', ['g', 'a', 'y']),
          })
        : null;
      return [ga && sumToShape(ga, (a as Tensor).shape), gb && sumToShape(gb, (b as Tensor).shape)];
    },
    tensors(a, b, out),
  );
  return out;
}

function minMax(name: 'minimum' | 'maximum', a: Operand, b: Operand): Tensor {
  // Captured now: by backward time an input may have been disposed (which drops its grad link).
  const needA = wantsGrad(a);
  const needB = wantsGrad(b);
  const out = simple(name, name === 'minimum' ? 'min(a, b)' : 'max(a, b)', a, b);
  const wins = name === 'minimum' ? '<' : '>';
  recordOp(
    name,
    [a, b].map(asInput),
    [out],
    ([g], saved) => {
      const [sa, sb] = restore([a, b], saved);
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
        needA ? sumToShape(share(sa, sb, 'a'), (a as Tensor).shape) : null,
        needB ? sumToShape(share(sb, sa, 'b'), (b as Tensor).shape) : null,
      ];
    },
    tensors(a, b),
  );
  return out;
}

/** Elementwise minimum. */
export const minimum = (a: Operand, b: Operand): Tensor => minMax('minimum', a, b);
/** Elementwise maximum. */
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

/** `cond ? a : b` elementwise; `cond` is a u32 (or i32) mask, non-zero meaning true. Broadcasts all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  // Captured now: by backward time an input may have been disposed (which drops its grad link).
  const needA = wantsGrad(a);
  const needB = wantsGrad(b);
  const dtype = dtypeOf('where', a, b);
  if (cond.dtype === 'f32')
    throw new DTypeError(`where: the condition must be a u32/i32 mask, got f32 ${fmtShape(cond.shape)}`);
  const pick = (x: Operand, y: Operand, label: string) =>
    mapElementwise({
      name: label,
      inputs: [cond, x, y],
      inputDtypes: [cond.dtype, dtype, dtype],
      source: (t) =>
        `fn op(c: ${t.ty(cond.dtype)}, a: ${t.ty(dtype)}, b: ${t.ty(dtype)}) -> ${t.ty(dtype)} { return select(b, a, c != ${t.ty(cond.dtype)}(0)); }`,
    });
  const out = pick(a, b, 'where');
  recordOp(
    'where',
    [null, asInput(a), asInput(b)],
    [out],
    ([g], [c]) => {
      const saved = c;
      const pickGrad = (first: Operand, second: Operand) =>
        mapElementwise({
          name: 'where_backward',
          inputs: [saved, first, second],
          inputDtypes: [saved.dtype, 'f32', 'f32'],
          source: (t) =>
            `fn op(c: ${t.ty(saved.dtype)}, a: ${t.ty('f32')}, b: ${t.ty('f32')}) -> ${t.ty('f32')} { return select(b, a, c != ${t.ty(saved.dtype)}(0)); }`,
        });
      return [
        null,
        needA ? sumToShape(pickGrad(g!, 0), (a as Tensor).shape) : null,
        needB ? sumToShape(pickGrad(0, g!), (b as Tensor).shape) : null,
      ];
    },
    [cond],
  );
  return out;
}

/** Clamps to [min, max] (either bound may be omitted). The gradient passes where min ≤ x ≤ max. */
export function clamp(x: Tensor, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): Tensor {
  const T = (t: TypeNamer) => t.ty(x.dtype);
  const out = mapElementwise({
    name: 'clamp',
    inputs: [x, min, max],
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
        inputs: [g!, sx, min, max],
        source: (t) =>
          `fn op(g: ${t.ty('f32')}, x: ${t.ty('f32')}, lo: ${t.ty('f32')}, hi: ${t.ty('f32')}) -> ${t.ty('f32')} { return select(${t.ty('f32')}(0.0), g, x >= lo & x <= hi); }`,
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

function wantsGrad(x: Operand): boolean {
  return x instanceof Tensor && x.requiresGrad;
}

function asInput(x: Operand): Tensor | null {
  return x instanceof Tensor ? x : null;
}

/** Maps saved tensors back onto operand positions (numbers stay numbers). */
function restore(operands: Operand[], saved: Tensor[]): Operand[] {
  let k = 0;
  return operands.map((x) => (x instanceof Tensor ? saved[k++] : x));
}
