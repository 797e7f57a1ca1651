/**
 * Image-to-image timestep selection (diffusers `get_timesteps` + `set_begin_index`, reference §3.4):
 * the init image replaces the first part of the schedule, so denoising starts part-way down at a
 * noise level set by `strength` and only the last `floor(steps · strength)` timesteps run.
 */

/** Index of the first timestep an image-to-image run keeps out of a `steps` schedule. */
export function img2imgStartIndex(steps: number, strength: number): number {
  checkStrength(strength);
  // Python's int() truncates; for the non-negative product that is Math.floor, bit for bit.
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  const start = Math.max(steps - initTimestep, 0);
  if (start >= steps) {
    throw new RangeError(
      `${steps} step(s) at strength ${strength} leave no step to run: steps × strength must be at least 1 ` +
        `(e.g. 2 steps at strength 0.5 for a turbo model).`,
    );
  }
  return start;
}

export function checkStrength(strength: number): void {
  if (!Number.isFinite(strength) || strength <= 0 || strength > 1) {
    throw new RangeError(`Strength must be greater than 0 and at most 1; got ${strength}.`);
  }
}
