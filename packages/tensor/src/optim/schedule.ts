/**
 * Learning-rate schedules as plain functions of the step: multiply a group's base lr by `factor(step)`
 * (`optimizer.setLrFactor(schedule(step))`).
 */

export interface WarmupCosineOptions {
  /** Steps of linear warm-up from `warmupStartFactor` to 1. */
  warmupSteps: number;
  totalSteps: number;
  /** Factor at step 0 (MambaMIM: 0.005). */
  warmupStartFactor?: number;
  /** Factor reached at the end of the cosine (MambaMIM: 0.001). */
  finalFactor?: number;
}

/** Linear warm-up then cosine annealing — the papers' schedule. Steps past `totalSteps` stay at the final factor. */
export function warmupCosine(options: WarmupCosineOptions): (step: number) => number {
  const { warmupSteps, totalSteps } = options;
  const start = options.warmupStartFactor ?? 0;
  const end = options.finalFactor ?? 0;
  if (!(totalSteps > 0) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new RangeError(
      `warmupCosine: need 0 ≤ warmupSteps (${warmupSteps}) ≤ totalSteps (${totalSteps}), totalSteps > 0`,
    );
  }
  return (step: number) => {
    if (step < warmupSteps) return start + ((1 - start) * step) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return end + (1 - end) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** A constant factor (1 unless given). */
export function constantSchedule(factor = 1): (step: number) => number {
  return () => factor;
}
