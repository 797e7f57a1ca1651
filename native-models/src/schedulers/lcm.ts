/**
 * Latent Consistency Model sampling (diffusers `LCMScheduler`, LCM-Dreamshaper-v7): each step
 * predicts x₀, applies the consistency boundary conditions, and re-noises to the next timestep.
 * Also the guidance-scale embedding LCM's UNet takes as `timestep_cond`, since guidance is
 * distilled into the model instead of run as classifier-free guidance.
 */
import { alphasCumprod, scaledLinearBetas, type NoiseScheduleConfig } from './betas.js';
import { checkStrength } from './img2img.js';
import {
  checkSameLength,
  checkStepIndex,
  drawNoise,
  emptyLike,
  type Latent,
  type NoiseSource,
  type Scheduler,
  type StepResult,
} from './types.js';

/** Hard-coded in diffusers' `get_scalings_for_boundary_condition_discrete`. */
const SIGMA_DATA = 0.5;

export interface LcmConfig extends NoiseScheduleConfig {
  /** Steps of the distillation schedule the inference timesteps are picked from (50 for v7). */
  readonly originalInferenceSteps: number;
  readonly timestepScaling: number;
}

export interface BoundaryScalings {
  readonly cSkip: number;
  readonly cOut: number;
}

/** `c_skip = σ_d² / ((s·t)² + σ_d²)`, `c_out = s·t / √((s·t)² + σ_d²)`. */
export function lcmBoundaryScalings(timestep: number, timestepScaling: number): BoundaryScalings {
  const scaled = timestep * timestepScaling;
  const denominator = scaled * scaled + SIGMA_DATA * SIGMA_DATA;
  return { cSkip: (SIGMA_DATA * SIGMA_DATA) / denominator, cOut: scaled / Math.sqrt(denominator) };
}

/**
 * LCM's timesteps: evenly spaced picks (floored) from the reversed distillation schedule. For
 * image-to-image the distillation schedule itself is cut to its first `original · strength` steps
 * (diffusers `LCMScheduler.set_timesteps(strength=…)`; no `get_timesteps` slicing afterwards).
 */
export function lcmTimesteps(config: LcmConfig, numInferenceSteps: number, strength = 1): number[] {
  const original = config.originalInferenceSteps;
  checkStrength(strength);
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > original) {
    throw new RangeError(
      `LCM takes 1 to ${original} steps (its original_inference_steps); got ${numInferenceSteps}.`,
    );
  }
  const k = Math.floor(config.numTrainTimesteps / original);
  if (k < 1) {
    throw new RangeError(`LCM needs num_train_timesteps ≥ original_inference_steps; got ${config.numTrainTimesteps} < ${original}.`);
  }
  const originLength = Math.floor(original * strength);
  if (Math.floor(originLength / numInferenceSteps) < 1) {
    throw new RangeError(
      `LCM at strength ${strength} has ${originLength} distillation steps to pick ${numInferenceSteps} from; ` +
        `use at most ${originLength} steps or a strength of at least ${numInferenceSteps / original}.`,
    );
  }
  const origin = Array.from({ length: originLength }, (_, i) => (originLength - i) * k - 1);
  const spacing = origin.length / numInferenceSteps;
  return Array.from({ length: numInferenceSteps }, (_, i) => origin[Math.floor(i * spacing)]!);
}

/**
 * The UNet's `timestep_cond` for LCM: a 256-wide sinusoidal embedding of `w = guidance_scale − 1`
 * (diffusers `get_guidance_scale_embedding`, `[sin(1000·w·f_i)…, cos(1000·w·f_i)…]`,
 * `f_i = exp(−i·ln 10000 / (dim/2 − 1))`). Computed in float64 and stored as float32 for the UNet;
 * diffusers evaluates it in float32, which is up to ~6e-4 off because the angles reach 7000 rad.
 */
export function guidanceScaleEmbedding(w: number, dim = 256): Float32Array {
  if (!Number.isInteger(dim) || dim < 4) throw new RangeError(`Embedding width must be a whole number ≥ 4; got ${dim}.`);
  const scaled = w * 1000;
  const half = Math.floor(dim / 2);
  const exponent = Math.log(10000) / (half - 1);
  const out = new Float32Array(dim); // an odd width ends in one zero, as diffusers pads it
  for (let i = 0; i < half; i++) {
    const angle = scaled * Math.exp(i * -exponent);
    out[i] = Math.sin(angle);
    out[half + i] = Math.cos(angle);
  }
  return out;
}

export class LcmScheduler implements Scheduler {
  readonly name = 'lcm' as const;
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  private steps: number[] = [];

  constructor(readonly config: LcmConfig) {
    this.alphasCumprod = alphasCumprod(scaledLinearBetas(config));
  }

  get timesteps(): readonly number[] {
    return this.steps;
  }

  setTimesteps(numInferenceSteps: number, strength = 1): void {
    this.steps = lcmTimesteps(this.config, numInferenceSteps, strength);
  }

  /** `√ᾱ_t · x₀ + √(1 − ᾱ_t) · noise` (the DDPM forward process LCM was distilled on). */
  addNoise<T extends Latent>(original: T, noise: Latent, timestepIndex: number): T {
    checkStepIndex(this.name, this.timesteps, timestepIndex);
    checkSameLength(noise, original);
    const alpha = this.alphasCumprod[this.steps[timestepIndex]!]!;
    const sqrtAlpha = Math.sqrt(alpha);
    const sqrtOneMinusAlpha = Math.sqrt(1 - alpha);
    const out = emptyLike(original);
    for (let i = 0; i < original.length; i++) out[i] = sqrtAlpha * original[i]! + sqrtOneMinusAlpha * noise[i]!;
    return out;
  }

  /** LCM feeds the latent to the UNet unscaled; this returns `sample` itself. */
  scaleModelInput<T extends Latent>(sample: T, stepIndex: number): T {
    checkStepIndex(this.name, this.timesteps, stepIndex);
    return sample;
  }

  /** `rng` is needed on every step but the last, which returns `denoised` as the final latent. */
  step<T extends Latent>(modelOutput: Latent, stepIndex: number, sample: T, rng?: NoiseSource): StepResult<T> {
    checkStepIndex(this.name, this.timesteps, stepIndex);
    checkSameLength(modelOutput, sample);
    const t = this.steps[stepIndex]!;
    const isLast = stepIndex === this.steps.length - 1;
    const alphaT = this.alphasCumprod[t]!;
    const sqrtAlphaT = Math.sqrt(alphaT);
    const sqrtBetaT = Math.sqrt(1 - alphaT);
    const { cSkip, cOut } = lcmBoundaryScalings(t, this.config.timestepScaling);

    const denoised = emptyLike(sample);
    // Re-noising below uses the unrounded estimate, so float32 latents narrow only once per value.
    const values = new Float64Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const x0 = (x - sqrtBetaT * modelOutput[i]!) / sqrtAlphaT;
      values[i] = cOut * x0 + cSkip * x;
      denoised[i] = values[i]!;
    }
    if (isLast) return { prevSample: denoised, denoised };

    // Every LCM timestep is ≥ k − 1 ≥ 0, so diffusers' `set_alpha_to_one` fallback never applies.
    const alphaPrev = this.alphasCumprod[this.steps[stepIndex + 1]!]!;
    const noise = drawNoise(this.name, rng, sample.length);
    const sqrtAlphaPrev = Math.sqrt(alphaPrev);
    const sqrtBetaPrev = Math.sqrt(1 - alphaPrev);
    const prevSample = emptyLike(sample);
    for (let i = 0; i < sample.length; i++) {
      prevSample[i] = sqrtAlphaPrev * values[i]! + sqrtBetaPrev * noise[i]!;
    }
    return { prevSample, denoised };
  }
}
