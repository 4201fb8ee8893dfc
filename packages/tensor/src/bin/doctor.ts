#!/usr/bin/env node
/**
 * mim-doctor (`npm run doctor`): says whether WebGPU works here and how fast. Prints the adapter (vendor,
 * architecture, description, backend, software or hardware), the limits @mim/tensor negotiates, the optional
 * features (shader-f16, subgroups) and a ~1-second f32 matmul throughput probe whose result is checked.
 * Exits 1 with instructions when there is no adapter.
 */
import { init, NO_ADAPTER_HELP } from '../runtime/device.js';

const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

const formatBytes = (n: number): string =>
  n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} B`;

/**
 * C = A·B for square n×n row-major f32 matrices (n a multiple of 64). Each invocation computes a 4×8 tile of C
 * from vec4 loads of A (4 consecutive k) and B (8 columns), with no shared memory: correct on every adapter
 * (no barriers, no races) and register-tiled, which is what CPU drivers such as lavapipe reward. Written here
 * so the probe does not depend on the library's kernels.
 */
function matmulWgsl(n: number): string {
  const n4 = n / 4;
  const rows = [0, 1, 2, 3];
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col4 = gid.x * 2u;     // first of two groups of 4 columns
  let row = gid.y * 4u;      // first of 4 rows
${rows
  .map(
    (r) => `  var lo${r} = vec4<f32>(0.0);
  var hi${r} = vec4<f32>(0.0);`,
  )
  .join('\n')}
  for (var k4 = 0u; k4 < ${n4}u; k4 = k4 + 1u) {
    let k = k4 * 4u;
    let b0l = b[k * ${n4}u + col4];
    let b0h = b[k * ${n4}u + col4 + 1u];
    let b1l = b[(k + 1u) * ${n4}u + col4];
    let b1h = b[(k + 1u) * ${n4}u + col4 + 1u];
    let b2l = b[(k + 2u) * ${n4}u + col4];
    let b2h = b[(k + 2u) * ${n4}u + col4 + 1u];
    let b3l = b[(k + 3u) * ${n4}u + col4];
    let b3h = b[(k + 3u) * ${n4}u + col4 + 1u];
${rows
  .map(
    (r) => `    let a${r} = a[(row + ${r}u) * ${n4}u + k4];
    lo${r} = lo${r} + a${r}.x * b0l + a${r}.y * b1l + a${r}.z * b2l + a${r}.w * b3l;
    hi${r} = hi${r} + a${r}.x * b0h + a${r}.y * b1h + a${r}.z * b2h + a${r}.w * b3h;`,
  )
  .join('\n')}
  }
${rows
  .map(
    (r) => `  c[(row + ${r}u) * ${n4}u + col4] = lo${r};
  c[(row + ${r}u) * ${n4}u + col4 + 1u] = hi${r};`,
  )
  .join('\n')}
}`;
}

/** Small integers, so every product and sum is exact in f32 and the check can demand equality. */
const pattern = (i: number, salt: number): number => ((i * 7 + salt * 13 + ((i * i) % 11)) % 5) - 2;

async function matmulProbe(device: GPUDevice, n: number, seconds: number): Promise<{ gflops: number; runs: number }> {
  const a = new Float32Array(n * n).map((_, i) => pattern(i, 1));
  const b = new Float32Array(n * n).map((_, i) => pattern(i, 2));
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const bufA = device.createBuffer({ size: a.byteLength, usage });
  const bufB = device.createBuffer({ size: b.byteLength, usage });
  const bufC = device.createBuffer({ size: a.byteLength, usage });
  const readback = device.createBuffer({
    size: a.byteLength,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    device.queue.writeBuffer(bufA, 0, a);
    device.queue.writeBuffer(bufB, 0, b);
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: matmulWgsl(n), label: 'doctor-matmul' });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [bufA, bufB, bufC].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const submit = (count: number): void => {
      const encoder = device.createCommandEncoder();
      for (let i = 0; i < count; i++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(n / 8 / 8, n / 4 / 8);
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
    };
    // Warm-up, and the time of one run to size the batches.
    submit(1);
    await device.queue.onSubmittedWorkDone();
    let start = performance.now();
    submit(1);
    await device.queue.onSubmittedWorkDone();
    const once = Math.max(performance.now() - start, 0.01);
    const perBatch = Math.max(1, Math.min(1000, Math.floor(100 / once)));
    let runs = 0;
    start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      submit(perBatch);
      await device.queue.onSubmittedWorkDone();
      runs += perBatch;
    }
    const elapsed = (performance.now() - start) / 1000;
    const error = await device.popErrorScope();
    if (error) throw new Error(`the probe kernel failed validation: ${error.message}`);

    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(bufC, 0, readback, 0, a.byteLength);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const c = new Float32Array(readback.getMappedRange().slice(0));
    readback.unmap();
    for (let s = 0; s < 64; s++) {
      const i = (s * 7919) % n;
      const j = (s * 104729 + 3) % n;
      let expected = 0;
      for (let k = 0; k < n; k++) expected += a[i * n + k] * b[k * n + j];
      if (c[i * n + j] !== expected) {
        throw new Error(
          `the probe computed C[${i}, ${j}] = ${c[i * n + j]}, expected ${expected}: the driver is broken`,
        );
      }
    }
    return { gflops: (2 * n ** 3 * runs) / elapsed / 1e9, runs };
  } finally {
    for (const buffer of [bufA, bufB, bufC, readback]) buffer.destroy();
  }
}

async function main(): Promise<number> {
  let context: Awaited<ReturnType<typeof init>>;
  try {
    context = await init();
  } catch (error) {
    const message = (error as Error).message;
    console.error(`mim doctor: WebGPU is NOT available.\n\n${message}`);
    if (!message.includes(NO_ADAPTER_HELP)) console.error(`\n${NO_ADAPTER_HELP}`);
    return 1;
  }
  const { info, limits, device } = context;
  const row = (label: string, value: string): void => console.log(`  ${label.padEnd(36)} ${value}`);
  console.log('mim doctor — WebGPU through Dawn (npm "webgpu")\n');
  console.log('adapter');
  row('vendor', info.vendor || '(not reported)');
  row('architecture', info.architecture || '(not reported)');
  row('device', info.device || '(not reported)');
  row('description', info.description || '(not reported)');
  row('backend', info.backend);
  row('kind', info.software ? 'software (CPU driver, e.g. Mesa lavapipe)' : 'hardware GPU');
  console.log('\nlimits (as negotiated by @mim/tensor)');
  for (const key of KEY_LIMITS) {
    const value = (limits as unknown as Record<string, number>)[key];
    row(key, key.endsWith('Size') && value >= 2 ** 20 ? `${value} (${formatBytes(value)})` : String(value));
  }
  console.log('\nfeatures');
  row('shader-f16', context.hasF16 ? 'yes' : 'no');
  row('subgroups', context.hasSubgroups ? 'yes' : 'no');
  row('all', info.features.join(', ') || '(none)');

  const n = info.software ? 512 : 2048;
  console.log(`\nmatmul probe (f32, ${n}×${n}×${n}, ~1 s)`);
  try {
    const { gflops, runs } = await matmulProbe(device, n, 1);
    row('throughput', `${gflops.toFixed(1)} GFLOP/s over ${runs} runs (results checked)`);
  } catch (error) {
    console.error(`  the probe failed: ${(error as Error).message}`);
    return 1;
  }
  console.log(
    `\nOK: WebGPU works on ${info.description || info.vendor} (${info.backend}, ${info.software ? 'software' : 'hardware'}).`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Dawn keeps the process alive while the device exists.
    setTimeout(() => process.exit(code), 10).unref();
  },
  (error: unknown) => {
    console.error(`mim doctor: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
