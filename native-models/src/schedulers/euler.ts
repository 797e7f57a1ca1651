/**
 * Euler discrete sampling (diffusers `EulerDiscreteScheduler`, the SD-Turbo scheduler), plus the
 * sigma schedule it shares with Euler Ancestral. Matches diffusers' defaults for the options it
 * supports: linear sigma interpolation, no Karras/exponential/beta sigmas, final sigma 0, no churn.
 */
import { alphasCumprod, linspace, scaledLinearBetas, type NoiseScheduleConfig } from './betas.js';
import { img2imgStartIndex } from './img2img.js';
import {
  checkSameLength,
  checkStepIndex,
  emptyLike,
  type Latent,
  type NoiseSource,
  type Scheduler,
  type StepResult,
} from './types.js';

export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';
export type EulerPredictionType = 'epsilon' | 'v_prediction';

export interface EulerConfig extends NoiseScheduleConfig {
  readonly predictionType: EulerPredictionType;
  readonly timestepSpacing: TimestepSpacing;
  /** Added to `leading` timesteps only (diffusers ignores it for the other spacings). */
  readonly stepsOffset: number;
}

export interface EulerSchedule {
  readonly timesteps: number[];
  /** One per timestep, then a final 0. */
  readonly sigmas: number[];
  readonly initNoiseSigma: number;
}

/** `σ(t) = √((1 − ᾱ_t) / ᾱ_t)` for every train timestep. */
export function trainSigmas(config: NoiseScheduleConfig): Float64Array {
  return alphasCumprod(scaledLinearBetas(config)).map((acp) => Math.sqrt((1 - acp) / acp));
}

/** `set_timesteps` of EulerDiscrete / EulerAncestralDiscrete. */
export function eulerSchedule(config: EulerConfig, numInferenceSteps: number, sigmaTable: Float64Array): EulerSchedule {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > config.numTrainTimesteps) {
    throw new RangeError(`Steps must be a whole number from 1 to ${config.numTrainTimesteps}; got ${numInferenceSteps}.`);
  }
  const timesteps = eulerTimesteps(config, numInferenceSteps);
  const sigmas = [...timesteps.map((t) => interpolate(sigmaTable, t)), 0];
  const sigmaMax = Math.max(...sigmas);
  // diffusers: trailing/linspace start at σ_max, leading at √(σ_max² + 1).
  const initNoiseSigma = config.timestepSpacing === 'leading' ? Math.sqrt(sigmaMax * sigmaMax + 1) : sigmaMax;
  return { timesteps, sigmas, initNoiseSigma };
}

function eulerTimesteps(config: EulerConfig, n: number): number[] {
  const trainSteps = config.numTrainTimesteps;
  switch (config.timestepSpacing) {
    case 'linspace':
      // float32 like diffusers' `np.linspace(..., dtype=np.float32)`; n = 1 gives [0], as there.
      return Array.from(linspace(0, trainSteps - 1, n), Math.fround).reverse();
    case 'leading': {
      const ratio = Math.floor(trainSteps / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + config.stepsOffset);
    }
    case 'trailing':
      return numpyArange(trainSteps, 0, -trainSteps / n).map((t) => roundHalfEven(t) - 1);
  }
}

/** `np.arange(start, stop, step)` for floats: length `ceil((stop − start)/step)`, values `start + i·δ`
 *  with `δ = (start + step) − start`, which is not always `step`. */
function numpyArange(start: number, stop: number, step: number): number[] {
  const length = Math.ceil((stop - start) / step);
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => (i === 0 ? start : i === 1 ? start + step : start + i * delta));
}

/** numpy's `round`: halves go to the even neighbour (16 trailing steps hit 812.5, 562.5, …). */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `np.interp(t, arange(len), table)`, same operation order (the x spacing is 1, so no division). */
function interpolate(table: Float64Array, t: number): number {
  const last = table.length - 1;
  if (t <= 0) return table[0]!;
  if (t >= last) return table[last]!;
  const j = Math.floor(t);
  const low = table[j]!;
  if (t === j) return low;
  return (table[j + 1]! - low) * (t - j) + low;
}

/** x₀ from the model output at noise level σ. */
export function eulerPredictOriginal(
  predictionType: EulerPredictionType,
  sample: number,
  modelOutput: number,
  sigma: number,
): number {
  return predictionType === 'epsilon'
    ? sample - sigma * modelOutput
    : modelOutput * (-sigma / Math.sqrt(sigma * sigma + 1)) + sample / (sigma * sigma + 1);
}

/**
 * The schedule of an image-to-image run: the text-to-image one without its first timesteps. Sigmas
 * are sliced with the timesteps, which is what diffusers' `set_begin_index` amounts to.
 */
export function eulerImg2ImgSchedule(full: EulerSchedule, numInferenceSteps: number, strength: number): EulerSchedule {
  const start = img2imgStartIndex(numInferenceSteps, strength);
  if (start === 0) return full;
  return { timesteps: full.timesteps.slice(start), sigmas: full.sigmas.slice(start), initNoiseSigma: full.initNoiseSigma };
}

/** Euler's `add_noise`: `x₀ + σ · noise` at the step's sigma. */
export function addNoiseAtSigma<T extends Latent>(original: T, noise: Latent, sigma: number): T {
  checkSameLength(noise, original);
  const out = emptyLike(original);
  for (let i = 0; i < original.length; i++) out[i] = original[i]! + sigma * noise[i]!;
  return out;
}

/** `x / √(σ² + 1)`: the UNet was trained on unit-variance inputs. */
export function scaleBySigma<T extends Latent>(sample: T, sigma: number): T {
  const out = emptyLike(sample);
  const scale = Math.sqrt(sigma * sigma + 1);
  for (let i = 0; i < sample.length; i++) out[i] = sample[i]! / scale;
  return out;
}

/**
 * What Euler and Euler Ancestral share: the same timesteps and sigmas, the same input scaling and
 * the same image-to-image noising. Each subclass is only its own `step`.
 */
export abstract class SigmaScheduler implements Scheduler {
  abstract readonly name: 'euler' | 'euler-ancestral';
  private readonly sigmaTable: Float64Array;
  protected schedule: EulerSchedule = { timesteps: [], sigmas: [], initNoiseSigma: 1 };

  constructor(readonly config: EulerConfig) {
    this.sigmaTable = trainSigmas(config);
  }

  get timesteps(): readonly number[] {
    return this.schedule.timesteps;
  }

  get sigmas(): readonly number[] {
    return this.schedule.sigmas;
  }

  get initNoiseSigma(): number {
    return this.schedule.initNoiseSigma;
  }

  setTimesteps(numInferenceSteps: number, strength = 1): void {
    this.schedule = eulerImg2ImgSchedule(eulerSchedule(this.config, numInferenceSteps, this.sigmaTable), numInferenceSteps, strength);
  }

  addNoise<T extends Latent>(original: T, noise: Latent, timestepIndex: number): T {
    checkStepIndex(this.name, this.timesteps, timestepIndex);
    return addNoiseAtSigma(original, noise, this.schedule.sigmas[timestepIndex]!);
  }

  scaleModelInput<T extends Latent>(sample: T, stepIndex: number): T {
    checkStepIndex(this.name, this.timesteps, stepIndex);
    return scaleBySigma(sample, this.schedule.sigmas[stepIndex]!);
  }

  abstract step<T extends Latent>(modelOutput: Latent, stepIndex: number, sample: T, rng?: NoiseSource): StepResult<T>;
}

export class EulerDiscreteScheduler extends SigmaScheduler {
  readonly name = 'euler' as const;

  step<T extends Latent>(modelOutput: Latent, stepIndex: number, sample: T, _rng?: NoiseSource): StepResult<T> {
    checkStepIndex(this.name, this.timesteps, stepIndex);
    checkSameLength(modelOutput, sample);
    const sigma = this.schedule.sigmas[stepIndex]!;
    const dt = this.schedule.sigmas[stepIndex + 1]! - sigma;
    const prevSample = emptyLike(sample);
    const denoised = emptyLike(sample);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const x0 = eulerPredictOriginal(this.config.predictionType, x, modelOutput[i]!, sigma);
      const derivative = (x - x0) / sigma;
      denoised[i] = x0;
      prevSample[i] = x + derivative * dt;
    }
    return { prevSample, denoised };
  }
}
