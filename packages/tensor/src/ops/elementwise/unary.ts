/**
 * Unary elementwise ops, declared as data: the forward WGSL function and the backward as a fused
 * elementwise kernel over (x, y, upstream gradient). One table, one launcher.
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import { mapElementwise, type TypeNamer } from './launcher.js';

/** WGSL helpers shared by several unary ops. `phi` is the standard normal CDF via an erfc approximation. */
export const MATH_HELPERS = `
fn erfc_pos(z: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26, |error of erf| <= 1.5e-7; z >= 0.
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * exp(-z * z);
}
fn phi(x: f32) -> f32 {
  // Phi(x) = erfc(-x / sqrt 2) / 2, written so the small tail keeps relative accuracy.
  let e = 0.5 * erfc_pos(abs(x) * 0.70710678118654752);
  return select(1.0 - e, e, x < 0.0);
}
fn sigmoid1(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
fn log1p1(e: f32) -> f32 {
  // log(1 + e), e in [0, 1]. Below 1/16 a series keeps relative accuracy (error < e^8 / 8); the usual
  // log(u) * e / (u - 1) trick is not safe here because drivers may simplify (u - 1) to e.
  let series = e * (1.0 - e * (0.5 - e * (0.33333333 - e * (0.25 - e * (0.2 - e * (0.16666667 - e * 0.14285714))))));
  return select(log(1.0 + e), series, e < 0.0625);
}
fn softplus1(x: f32) -> f32 {
  return select(max(x, 0.0) + log1p1(exp(-abs(x))), x, x > 20.0);
}
`;

/** Applies a scalar WGSL function componentwise (works for both the f32 and the vec4 path). */
function componentwise(t: TypeNamer, fnName: string, args: string[], body: string): string {
  const T = t.ty('f32');
  const params = args.map((a) => `${a}: ${T}`).join(', ');
  if (!t.vec) return `fn op(${params}) -> f32 { ${body} }`;
  const scalarParams = args.map((a) => `${a}: f32`).join(', ');
  const call = (k: number) => `${fnName}(${args.map((a) => `${a}[${k}]`).join(', ')})`;
  return `fn ${fnName}(${scalarParams}) -> f32 { ${body} }
fn op(${params}) -> ${T} { return vec4<f32>(${call(0)}, ${call(1)}, ${call(2)}, ${call(3)}); }`;
}

interface UnaryDef {
  /** Body of `fn(x: f32) -> f32`. */
  forward: string;
  /** Body of the backward `fn(x, y, g) -> f32` giving dL/dx; omit for ops without gradient. */
  backward?: string;
  /** Which of x / y the backward needs (saved for backward). */
  saves: ('x' | 'y')[];
}

export const UNARY_OPS = {
  neg: { forward: 'return -x;', backward: 'return -g;', saves: [] },
  abs: { forward: 'return abs(x);', backward: 'return g * sign(x);', saves: ['x'] },
  exp: { forward: 'return exp(x);', backward: 'return g * y;', saves: ['y'] },
  log: { forward: 'return log(x);', backward: 'return g / x;', saves: ['x'] },
  sqrt: { forward: 'return sqrt(x);', backward: 'return g * 0.5 / y;', saves: ['y'] },
  rsqrt: { forward: 'return inverseSqrt(x);', backward: 'return -0.5 * g * y * y * y;', saves: ['y'] },
  square: { forward: 'return x * x;', backward: 'return 2.0 * g * x;', saves: ['x'] },
  reciprocal: { forward: 'return 1.0 / x;', backward: 'return -g * y * y;', saves: ['y'] },
  tanh: { forward: 'return tanh(clamp(x, -15.0, 15.0));', backward: 'return g * (1.0 - y * y);', saves: ['y'] },
  sigmoid: { forward: 'return sigmoid1(x);', backward: 'return g * y * (1.0 - y);', saves: ['y'] },
  relu: { forward: 'return max(x, 0.0);', backward: 'return select(0.0, g, x > 0.0);', saves: ['x'] },
  gelu: {
    forward: 'return x * phi(x);',
    backward: 'return g * (phi(x) + x * 0.3989422804014327 * exp(-0.5 * x * x));',
    saves: ['x'],
  },
  silu: {
    forward: 'return x * sigmoid1(x);',
    backward: 'let s = sigmoid1(x); return g * s * (1.0 + x * (1.0 - s));',
    saves: ['x'],
  },
  softplus: { forward: 'return softplus1(x);', backward: 'return select(g * sigmoid1(x), g, x > 20.0);', saves: ['x'] },
} satisfies Record<string, UnaryDef>;

export type UnaryOpName = keyof typeof UNARY_OPS;

function requireF32(name: string, x: Tensor): void {
  if (x.dtype !== 'f32')
    throw new DTypeError(
      `${name}: expects an f32 tensor, got ${x.dtype} ${fmtShape(x.shape)}; convert with cast(x, 'f32')`,
    );
}

/** Applies the named unary op (forward kernel + recorded backward). */
export function unary(name: UnaryOpName, x: Tensor): Tensor {
  const def: UnaryDef = UNARY_OPS[name];
  if (name !== 'neg' && name !== 'abs') requireF32(name, x);
  if (name === 'neg' && x.dtype === 'u32') {
    throw new DTypeError(`neg: not defined for u32 (shape ${fmtShape(x.shape)}); cast to i32 or f32 first`);
  }
  const y = mapElementwise({
    name,
    inputs: [x],
    helpers: MATH_HELPERS,
    source: (t) => (x.dtype === 'f32' ? componentwise(t, `${name}1_`, ['x'], def.forward) : intUnary(name, t, x)),
  });
  if (def.backward) {
    const saved = def.saves.map((s) => (s === 'x' ? x : y));
    recordOp(
      name,
      [x],
      [y],
      ([g], savedTensors) => {
        const byName: Record<string, Tensor> = {};
        def.saves.forEach((s, k) => {
          byName[s] = savedTensors[k];
        });
        const args = ['x', 'y', 'g'].filter((a) => a === 'g' || def.saves.includes(a as 'x' | 'y'));
        const inputs = args.map((a) => (a === 'g' ? g! : byName[a]));
        return [
          mapElementwise({
            name: `${name}_backward`,
            inputs,
            helpers: MATH_HELPERS,
            source: (t) => componentwise(t, `${name}_bwd1_`, args, def.backward!),
          }),
        ];
      },
      saved,
    );
  }
  return y;
}

function intUnary(name: string, t: TypeNamer, x: Tensor): string {
  const T = t.ty(x.dtype);
  if (name === 'neg') return `fn op(x: ${T}) -> ${T} { return -x; }`;
  if (name === 'abs') return `fn op(x: ${T}) -> ${T} { return abs(x); }`;
  throw new DTypeError(`${name}: not defined for ${x.dtype}`);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** GELU, exact erf form (PyTorch `approximate='none'`). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** softplus(x) = log(1 + e^x), returning x unchanged above 20 (PyTorch's threshold). */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
