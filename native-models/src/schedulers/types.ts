/**
 * The one interface every scheduler implements, shaped after diffusers' (set timesteps, scale the
 * model input, step) so each implementation can be checked line by line against its Python original.
 *
 * Latents are flat NCHW arrays. The pipeline uses Float32Array (what ONNX Runtime takes and gives);
 * Float64Array is accepted too so the math can be checked against the float64 reference vectors
 * without float32 rounding in the way.
 */

export type Latent = Float32Array | Float64Array;

/** Fresh standard-normal noise; `TorchGenerator` is one. Called with the latent's element count. */
export interface NoiseSource {
  randn(shape: readonly number[]): Latent;
}

export interface StepResult<T extends Latent> {
  /** The latent to feed the next step (after the last step: the final latent). */
  readonly prevSample: T;
  /** The model's current estimate of the clean latent (x₀): what a per-step preview shows, and
   *  what LCM decodes after its last step. */
  readonly denoised: T;
}

export type SchedulerName = 'euler' | 'euler-ancestral' | 'lcm';

export interface Scheduler {
  readonly name: SchedulerName;
  /** Train timesteps to run, in order; what the UNet receives as `timestep`. Empty until set. */
  readonly timesteps: readonly number[];
  /** Standard deviation of the starting noise: latents = randn · initNoiseSigma. */
  readonly initNoiseSigma: number;
  /**
   * `strength` < 1 selects the image-to-image schedule (reference §3.4); 1, the default, is the
   * text-to-image one. Timestep and step indices below count from the first timestep kept.
   */
  setTimesteps(numInferenceSteps: number, strength?: number): void;
  /** The clean latent `original` noised to the level of `timesteps[timestepIndex]` (image-to-image start). */
  addNoise<T extends Latent>(original: T, noise: Latent, timestepIndex: number): T;
  scaleModelInput<T extends Latent>(sample: T, stepIndex: number): T;
  /**
   * Advance from `timesteps[stepIndex]`. `rng` is required by schedulers that inject noise
   * (Euler Ancestral on every step, LCM on every step but the last).
   */
  step<T extends Latent>(modelOutput: Latent, stepIndex: number, sample: T, rng?: NoiseSource): StepResult<T>;
}

/**
 * A new array of the same kind and length as `sample`.
 *
 * This is where precision narrows, and the only place: schedulers do all arithmetic in float64
 * (plain JS numbers, as the reference does) and each result element is rounded to float32 once,
 * when it is stored into an array made here for a Float32Array latent.
 */
export function emptyLike<T extends Latent>(sample: T): T {
  // The cast restates what the constructor check guarantees; TypeScript cannot follow it.
  return (sample instanceof Float64Array ? new Float64Array(sample.length) : new Float32Array(sample.length)) as T;
}

/** Throws an actionable error for a step index outside the schedule. */
export function checkStepIndex(name: SchedulerName, timesteps: readonly number[], stepIndex: number): void {
  if (timesteps.length === 0) {
    throw new Error(`The ${name} scheduler has no timesteps yet; call setTimesteps(steps) before stepping.`);
  }
  if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= timesteps.length) {
    throw new RangeError(`Step ${stepIndex} is outside the ${name} schedule of ${timesteps.length} steps.`);
  }
}

/** Throws when the model output and the latent disagree in size (e.g. a CFG batch not yet combined). */
export function checkSameLength(modelOutput: Latent, sample: Latent): void {
  if (modelOutput.length !== sample.length) {
    throw new RangeError(
      `The model output has ${modelOutput.length} values but the latent has ${sample.length}; ` +
        `combine the guidance batch before stepping.`,
    );
  }
}

/** Noise of the latent's size from `rng`, or an error naming the scheduler that needed it. */
export function drawNoise(name: SchedulerName, rng: NoiseSource | undefined, length: number): Latent {
  if (rng === undefined) {
    throw new Error(`The ${name} scheduler injects fresh noise on this step; pass a noise source (the seeded generator).`);
  }
  const noise = rng.randn([length]);
  if (noise.length !== length) {
    throw new RangeError(`The noise source returned ${noise.length} values for a latent of ${length}.`);
  }
  return noise;
}
