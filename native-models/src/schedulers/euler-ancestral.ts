/**
 * Euler Ancestral sampling (diffusers `EulerAncestralDiscreteScheduler`, the SDXL-Turbo scheduler):
 * an Euler step down to σ_down, then fresh noise of size σ_up. Timesteps and sigmas are Euler's.
 */
import { eulerPredictOriginal, SigmaScheduler } from './euler.js';
import {
  checkSameLength,
  checkStepIndex,
  drawNoise,
  emptyLike,
  type Latent,
  type NoiseSource,
  type StepResult,
} from './types.js';

export interface AncestralSigmas {
  readonly sigmaUp: number;
  readonly sigmaDown: number;
}

/** Split the move σ_from → σ_to into a deterministic part (to σ_down) and injected noise (σ_up). */
export function ancestralSigmas(sigmaFrom: number, sigmaTo: number): AncestralSigmas {
  const from2 = sigmaFrom * sigmaFrom;
  const to2 = sigmaTo * sigmaTo;
  const sigmaUp = Math.sqrt((to2 * (from2 - to2)) / from2);
  const sigmaDown = Math.sqrt(to2 - sigmaUp * sigmaUp);
  return { sigmaUp, sigmaDown };
}

export class EulerAncestralDiscreteScheduler extends SigmaScheduler {
  readonly name = 'euler-ancestral' as const;

  /** Draws noise on every step, the last included: σ_up = 0 there, but diffusers still draws, and
   *  the generator must advance as it does for the next image of a batch run to match. */
  step<T extends Latent>(modelOutput: Latent, stepIndex: number, sample: T, rng?: NoiseSource): StepResult<T> {
    checkStepIndex(this.name, this.timesteps, stepIndex);
    checkSameLength(modelOutput, sample);
    const sigma = this.schedule.sigmas[stepIndex]!;
    const { sigmaUp, sigmaDown } = ancestralSigmas(sigma, this.schedule.sigmas[stepIndex + 1]!);
    const dt = sigmaDown - sigma;
    const noise = drawNoise(this.name, rng, sample.length);
    const prevSample = emptyLike(sample);
    const denoised = emptyLike(sample);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const x0 = eulerPredictOriginal(this.config.predictionType, x, modelOutput[i]!, sigma);
      const derivative = (x - x0) / sigma;
      denoised[i] = x0;
      prevSample[i] = x + derivative * dt + noise[i]! * sigmaUp;
    }
    return { prevSample, denoised };
  }
}
