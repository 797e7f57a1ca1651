import { describe, expect, it } from 'vitest';
import {
  LcmScheduler,
  guidanceScaleEmbedding,
  lcmBoundaryScalings,
} from '../../../native-models/src/schedulers/lcm.js';
import { alphasCumprod, scaledLinearBetas } from '../../../native-models/src/schedulers/betas.js';
import type { Latent } from '../../../native-models/src/schedulers/types.js';
import { expectClose, expectNumberClose } from './shared-data.js';
import { EXACT, FLOAT32_LOOP, ListedNoise, fakeUnet, referenceNoiseSchedule, vectors } from './scheduler-vectors.js';

const config = {
  ...referenceNoiseSchedule,
  originalInferenceSteps: vectors.config.lcm_original_inference_steps,
  timestepScaling: vectors.config.lcm_timestep_scaling,
};
const acp = alphasCumprod(scaledLinearBetas(referenceNoiseSchedule));

function lcm(steps: number): LcmScheduler {
  const scheduler = new LcmScheduler(config);
  scheduler.setTimesteps(steps);
  return scheduler;
}

describe('LCM timesteps and boundary conditions (LCM-Dreamshaper-v7)', () => {
  it.each(vectors.lcm.cases)('$num_inference_steps steps', (c) => {
    const scheduler = lcm(c.num_inference_steps);
    expect(scheduler.timesteps).toEqual(c.timesteps);
    expect(scheduler.initNoiseSigma).toBe(1);
    c.per_timestep.forEach((p, i) => {
      const { cSkip, cOut } = lcmBoundaryScalings(p.timestep, config.timestepScaling);
      expectNumberClose(cSkip, p.c_skip, EXACT, `t=${p.timestep} c_skip`);
      expectNumberClose(cOut, p.c_out, EXACT, `t=${p.timestep} c_out`);
      expectNumberClose(acp[p.timestep]!, p.alphas_cumprod_t, EXACT, `t=${p.timestep} alphas_cumprod`);
      expect(scheduler.timesteps[i + 1] ?? null).toBe(p.next_timestep);
      if (p.next_timestep !== null && p.alphas_cumprod_next !== null) {
        expectNumberClose(acp[p.next_timestep]!, p.alphas_cumprod_next, EXACT, 'alphas_cumprod_next');
      }
    });
  });

  it('refuses more steps than the distillation schedule has', () => {
    expect(() => lcm(51)).toThrow(/1 to 50 steps/);
  });
});

describe('LCM guidance-scale embedding (timestep_cond)', () => {
  const v = vectors.lcm_guidance_embedding;
  const embedding = guidanceScaleEmbedding(v.guidance_scale - 1, v.dim);

  it('matches the float64 reference within float32 storage (1e-7 absolute)', () => {
    expect(embedding).toBeInstanceOf(Float32Array);
    expectClose(embedding, v.float64, { abs: 1e-7 }, 'embedding');
    expectClose(embedding.subarray(0, 8), v.first_8_float64, { abs: 1e-7 }, 'first 8');
    expectClose(embedding.subarray(-8), v.last_8_float64, { abs: 1e-7 }, 'last 8');
  });

  it('is [sin, cos] of the listed frequencies', () => {
    const w = (v.guidance_scale - 1) * 1000;
    const sines = v.frequencies_first_8_float64.map((f) => Math.sin(w * f));
    expectClose(embedding.subarray(0, 8), sines, { abs: 1e-7 }, 'sin half');
  });
});

function expectScalings(timestep: number, expected: { c_skip: number; c_out: number }, label: string): void {
  const { cSkip, cOut } = lcmBoundaryScalings(timestep, config.timestepScaling);
  expectNumberClose(cSkip, expected.c_skip, EXACT, `${label} c_skip`);
  expectNumberClose(cOut, expected.c_out, EXACT, `${label} c_out`);
}

describe('LCM step', () => {
  const ex = vectors.step_examples;
  const sample = Float64Array.from(ex.sample);
  const modelOutput = Float64Array.from(ex.model_output);

  it('first of 4 steps re-noises to the next timestep with the listed noise', () => {
    const v = ex.lcm_4_step_step_0;
    const scheduler = lcm(4);
    expect([scheduler.timesteps[0], scheduler.timesteps[1]]).toEqual([v.timestep, v.next_timestep]);
    expectScalings(v.timestep, v, 'step 0');
    expectNumberClose(acp[v.timestep]!, v.alphas_cumprod_t, EXACT, 'alphas_cumprod_t');
    expectNumberClose(acp[v.next_timestep]!, v.alphas_cumprod_next, EXACT, 'alphas_cumprod_next');
    expect(scheduler.scaleModelInput(sample, 0)).toBe(sample);
    const noise = new ListedNoise([ex.noise], 'float64');
    const { prevSample, denoised } = scheduler.step(modelOutput, 0, sample, noise);
    expectClose(denoised, v.denoised, EXACT, 'denoised');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
    expect(noise.draws).toBe(1);
  });

  it('last of 4 steps returns denoised, draws nothing', () => {
    const v = ex.lcm_4_step_final_step;
    const scheduler = lcm(4);
    expect(scheduler.timesteps[3]).toBe(v.timestep);
    expectScalings(v.timestep, v, 'last step');
    expectNumberClose(acp[v.timestep]!, v.alphas_cumprod_t, EXACT, 'alphas_cumprod_t');
    const noise = new ListedNoise([], 'float64');
    const { prevSample, denoised } = scheduler.step(modelOutput, 3, sample, noise);
    expectClose(denoised, v.denoised, EXACT, 'denoised');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
    expect(noise.draws).toBe(0);
  });

  it('one step needs no noise source at all', () => {
    const v = ex.lcm_1_step;
    expectScalings(v.timestep, v, '1 step');
    const { denoised } = lcm(1).step(modelOutput, 0, sample);
    expectClose(denoised, v.denoised, EXACT, 'denoised');
  });

  it('needs a noise source before the last step', () => {
    expect(() => lcm(2).step(modelOutput, 0, sample)).toThrow(/pass a noise source/);
  });
});

describe('LCM 4-step loop with the fake UNet and listed noise', () => {
  const loop = vectors.full_loop_examples.lcm_4;
  const noises = vectors.full_loop_examples.per_step_noise;

  function run<T extends Latent>(start: T, noise: ListedNoise): void {
    const scheduler = lcm(4);
    expect(scheduler.initNoiseSigma).toBe(loop.init_noise_sigma);
    const tolerance = start instanceof Float64Array ? EXACT : FLOAT32_LOOP;
    let latent = start;
    scheduler.timesteps.forEach((t, i) => {
      const expected = loop.steps[i]!;
      expect(t).toBe(expected.timestep);
      expectScalings(t, expected, `step ${i}`);
      const eps = fakeUnet(scheduler.scaleModelInput(latent, i), t);
      expectClose(eps, expected.model_output, tolerance, `step ${i} model_output`);
      const { prevSample, denoised } = scheduler.step(eps, i, latent, noise);
      expectClose(denoised, expected.denoised, tolerance, `step ${i} denoised`);
      expectClose(prevSample, expected.prev_sample, tolerance, `step ${i} prev_sample`);
      latent = prevSample;
    });
    expectClose(latent, loop.final_latent, tolerance, 'final latent');
    expect(noise.draws).toBe(loop.steps.filter((s) => s.noise_used !== null).length);
  }

  it('float64 latents reproduce every traced value', () =>
    run(Float64Array.from(vectors.full_loop_examples.initial_noise), new ListedNoise(noises, 'float64')));
  it('float32 latents and float32 noise (the pipeline) stay within float32 rounding', () =>
    run(Float32Array.from(vectors.full_loop_examples.initial_noise), new ListedNoise(noises, 'float32')));
});
