/**
 * The fused update kernel shared by the optimisers: one dispatch per parameter tensor reading p, g and
 * the state tensors once and writing p and the state once. vec4 loads when the size allows. Hyper-parameters
 * that change every step (lr, bias corrections) arrive through a uniform, so the pipeline is compiled once.
 */
import { grid1d, runKernel } from '../runtime/kernel.js';
import type { Tensor } from '../tensor.js';

export interface FusedUpdate {
  name: string;
  /** Tensors updated in place, bound read_write (p first, then state). */
  inout: Tensor[];
  /** Read-only tensors (the gradient, …). */
  inputs: Tensor[];
  /** Uniform field names (f32) and values, in order. */
  scalars: [string, number][];
  /** WGSL statements on T-typed locals named like the tensors (`p`, `g`, `m` …); write back by assigning them. */
  body: string;
  inoutNames: string[];
  inputNames: string[];
}

export function runFusedUpdate(u: FusedUpdate): void {
  const n = u.inout[0].size;
  const all = [...u.inputs, ...u.inout];
  const vec = n % 4 === 0 && all.every((t) => t.offset % 4 === 0 && t.isContiguous);
  const T = vec ? 'vec4<f32>' : 'f32';
  const count = vec ? n / 4 : n;
  const off = (t: Tensor) => (vec ? t.offset / 4 : t.offset);
  const decls: string[] = [];
  let binding = 0;
  for (const name of u.inputNames) {
    decls.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}_buf: array<${T}>;`);
  }
  for (const name of u.inoutNames) {
    decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> ${name}_buf: array<${T}>;`);
  }
  const fields = u.scalars.map(([name]) => `${name}: f32,`).join(' ');
  const pad = (4 - (u.scalars.length % 4)) % 4;
  decls.push(`struct Hyper { ${fields} ${Array.from({ length: pad }, (_, k) => `pad${k}: f32,`).join(' ')} }`);
  decls.push(`@group(0) @binding(${binding}) var<uniform> h: Hyper;`);
  const loads = [
    ...u.inputs.map((t, i) => `let ${u.inputNames[i]} = ${u.inputNames[i]}_buf[i + ${off(t)}u];`),
    ...u.inout.map((t, i) => `var ${u.inoutNames[i]} = ${u.inoutNames[i]}_buf[i + ${off(t)}u];`),
  ];
  const stores = u.inout.map((t, i) => `${u.inoutNames[i]}_buf[i + ${off(t)}u] = ${u.inoutNames[i]};`);
  const { workgroups, rowStride } = grid1d(count);
  const wgsl = `${decls.join('\n')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${count}u) { return; }
  ${loads.join('\n  ')}
  ${u.body}
  ${stores.join('\n  ')}
}`;
  const uniform = new Float32Array(Math.max(4, u.scalars.length + pad));
  u.scalars.forEach(([, v], k) => {
    uniform[k] = v;
  });
  runKernel(u.name, wgsl, u.inputs, u.inout, workgroups, { uniform });
}
