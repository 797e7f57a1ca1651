import { describe, expect, it } from 'vitest';
import {
  EulerAncestralDiscreteScheduler,
  ancestralSigmas,
} from '../../../native-models/src/schedulers/euler-ancestral.js';
import type { Latent } from '../../../native-models/src/schedulers/types.js';
import { TorchGenerator } from '../../../native-models/src/noise/torch-randn.js';
import { expectClose, expectNumberClose } from './shared-data.js';
import { EXACT, FLOAT32_LOOP, ListedNoise, fakeUnet, referenceNoiseSchedule, scaled, vectors } from './scheduler-vectors.js';

function eulerAncestral(): EulerAncestralDiscreteScheduler {
  return new EulerAncestralDiscreteScheduler({
    ...referenceNoiseSchedule,
    predictionType: 'epsilon',
    timestepSpacing: 'trailing',
    stepsOffset: 1,
  });
}

describe('Euler Ancestral schedule (SDXL-Turbo)', () => {
  it.each(vectors.euler_ancestral_trailing.cases)('trailing, $num_inference_steps steps', (c) => {
    const scheduler = eulerAncestral();
    scheduler.setTimesteps(c.num_inference_steps);
    expect(scheduler.timesteps).toEqual(c.timesteps);
    expectClose(scheduler.sigmas, c.sigmas, EXACT, 'sigmas');
    expectNumberClose(scheduler.initNoiseSigma, c.init_noise_sigma, EXACT, 'init_noise_sigma');
    for (const s of c.steps) {
      expectNumberClose(scheduler.sigmas[s.step_index]!, s.sigma_from, EXACT, 'sigma_from');
      expectNumberClose(scheduler.sigmas[s.step_index + 1]!, s.sigma_to, EXACT, 'sigma_to');
      const { sigmaUp, sigmaDown } = ancestralSigmas(s.sigma_from, s.sigma_to);
      expectNumberClose(sigmaUp, s.sigma_up, EXACT, `step ${s.step_index} sigma_up`);
      expectNumberClose(sigmaDown, s.sigma_down, EXACT, `step ${s.step_index} sigma_down`);
    }
  });
});

describe('Euler Ancestral step', () => {
  const ex = vectors.step_examples;

  it('first of 4 trailing steps with the listed noise', () => {
    const v = ex.euler_ancestral_4_step_trailing_step_0;
    const scheduler = eulerAncestral();
    scheduler.setTimesteps(4);
    const sample = Float64Array.from(ex.sample);
    expectClose(scheduler.scaleModelInput(sample, 0), v.scaled_model_input, EXACT, 'scaled input');
    const { sigmaUp, sigmaDown } = ancestralSigmas(scheduler.sigmas[0]!, scheduler.sigmas[1]!);
    expectNumberClose(sigmaUp, v.sigma_up, EXACT, 'sigma_up');
    expectNumberClose(sigmaDown, v.sigma_down, EXACT, 'sigma_down');
    const { prevSample, denoised } = scheduler.step(
      Float64Array.from(ex.model_output),
      0,
      sample,
      new ListedNoise([ex.noise], 'float64'),
    );
    expectClose(denoised, v.pred_original_sample, EXACT, 'pred_x0');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
  });

  it('needs a noise source', () => {
    const scheduler = eulerAncestral();
    scheduler.setTimesteps(1);
    expect(() => scheduler.step(new Float32Array(4), 0, new Float32Array(4))).toThrow(/pass a noise source/);
  });

  it('draws noise on the last step too, where it adds nothing, so the generator advances as in diffusers', () => {
    const scheduler = eulerAncestral();
    scheduler.setTimesteps(1);
    const generator = new TorchGenerator(7);
    const sample = Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1);
    const modelOutput = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
    const { prevSample, denoised } = scheduler.step(modelOutput, 0, sample, generator);
    expect(prevSample).toEqual(denoised);
    const afterOneDraw = new TorchGenerator(7);
    afterOneDraw.randn([16]);
    expect(generator.randn([16])).toEqual(afterOneDraw.randn([16]));
  });
});

describe('Euler Ancestral 4-step loop with the fake UNet and listed noise', () => {
  const loop = vectors.full_loop_examples.euler_ancestral_trailing_4;
  const noises = vectors.full_loop_examples.per_step_noise;

  function run<T extends Latent>(start: T, noise: ListedNoise): void {
    const scheduler = eulerAncestral();
    scheduler.setTimesteps(4);
    expectNumberClose(scheduler.initNoiseSigma, loop.init_noise_sigma, EXACT, 'init_noise_sigma');
    const tolerance = start instanceof Float64Array ? EXACT : FLOAT32_LOOP;
    let latent = scaled(start, scheduler.initNoiseSigma);
    scheduler.timesteps.forEach((t, i) => {
      const expected = loop.steps[i]!;
      expect(t).toBe(expected.timestep);
      expect(noises[i]).toEqual(expected.noise_used);
      const modelInput = scheduler.scaleModelInput(latent, i);
      const eps = fakeUnet(modelInput, t);
      expectClose(modelInput, expected.model_input, tolerance, `step ${i} model_input`);
      expectClose(eps, expected.model_output, tolerance, `step ${i} model_output`);
      const { sigmaUp, sigmaDown } = ancestralSigmas(scheduler.sigmas[i]!, scheduler.sigmas[i + 1]!);
      expectNumberClose(sigmaUp, expected.sigma_up, EXACT, `step ${i} sigma_up`);
      expectNumberClose(sigmaDown, expected.sigma_down, EXACT, `step ${i} sigma_down`);
      const { prevSample, denoised } = scheduler.step(eps, i, latent, noise);
      expectClose(denoised, expected.pred_x0, tolerance, `step ${i} pred_x0`);
      expectClose(prevSample, expected.prev_sample, tolerance, `step ${i} prev_sample`);
      latent = prevSample;
    });
    expectClose(latent, loop.final_latent, tolerance, 'final latent');
    expect(noise.draws).toBe(4);
  }

  it('float64 latents reproduce every traced value', () =>
    run(Float64Array.from(vectors.full_loop_examples.initial_noise), new ListedNoise(noises, 'float64')));
  it('float32 latents and float32 noise (the pipeline) stay within float32 rounding', () =>
    run(Float32Array.from(vectors.full_loop_examples.initial_noise), new ListedNoise(noises, 'float32')));
});
