import { gpuContext } from './device.js';

/**
 * The subgroup size kernels that share loads through `subgroupBroadcast` may assume: the adapter's, when all its
 * subgroups have one fixed size of at most 64 (a 64-invocation workgroup then holds whole subgroups), else 0 —
 * also when the device lacks the `subgroups` feature. `op` names the caller in device errors.
 */
export function fixedSubgroupSize(op: string): number {
  const context = gpuContext(op);
  if (!context.hasSubgroups) return 0;
  const info = context.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const size = info.subgroupMinSize ?? 0;
  return size > 0 && size === info.subgroupMaxSize && size <= 64 ? size : 0;
}
