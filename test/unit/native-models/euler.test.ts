import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler, type EulerConfig } from '../../../native-models/src/schedulers/euler.js';
import type { Latent } from '../../../native-models/src/schedulers/types.js';
import { expectClose, expectNumberClose } from './shared-data.js';
import { EXACT, FLOAT32_LOOP, fakeUnet, scaled, referenceNoiseSchedule, vectors } from './scheduler-vectors.js';


function euler(overrides: Partial<EulerConfig> = {}): EulerDiscreteScheduler {
  return new EulerDiscreteScheduler({
    ...referenceNoiseSchedule,
    predictionType: 'epsilon',
    timestepSpacing: 'trailing',
    stepsOffset: 1,
    ...overrides,
  });
}

describe('Euler discrete timesteps and sigmas', () => {
  it.each(vectors.euler_discrete_trailing.cases)('trailing, $num_inference_steps steps (SD-Turbo)', (c) => {
    const scheduler = euler();
    scheduler.setTimesteps(c.num_inference_steps);
    expect(scheduler.timesteps).toEqual(c.timesteps);
    expectClose(scheduler.sigmas, c.sigmas, EXACT, 'sigmas');
    expectNumberClose(scheduler.initNoiseSigma, c.init_noise_sigma, EXACT, 'init_noise_sigma');
  });

  it('rounds trailing halves to even like numpy, not half-up like Math.round', () => {
    const scheduler = euler();
    scheduler.setTimesteps(16);
    const wrong = vectors.euler_discrete_trailing.trap_16_steps_with_js_math_round.timesteps_wrong;
    const differing = scheduler.timesteps.filter((t, i) => t !== wrong[i]);
    expect(differing).toEqual([811, 561, 311, 61]);
  });

  it.each(vectors.euler_discrete_other_spacings.cases)(
    '$timestep_spacing spacing, $num_inference_steps steps, steps_offset $steps_offset',
    (c) => {
      const scheduler = euler({ timestepSpacing: c.timestep_spacing, stepsOffset: c.steps_offset });
      scheduler.setTimesteps(c.num_inference_steps);
      expect(scheduler.timesteps).toEqual(c.timesteps);
      expectClose(scheduler.sigmas, c.sigmas, EXACT, 'sigmas');
      expectNumberClose(scheduler.initNoiseSigma, c.init_noise_sigma, EXACT, 'init_noise_sigma');
    },
  );

  it('refuses a step count the schedule cannot have', () => {
    expect(() => euler().setTimesteps(0)).toThrow(/whole number from 1 to 1000/);
    expect(() => euler().scaleModelInput(new Float32Array(4), 0)).toThrow(/call setTimesteps/);
  });
});

describe('Euler discrete step', () => {
  const ex = vectors.step_examples;
  const sample = Float64Array.from(ex.sample);
  const modelOutput = Float64Array.from(ex.model_output);

  it('first of 4 trailing steps, epsilon prediction', () => {
    const v = ex.euler_4_step_trailing_step_0_epsilon;
    const scheduler = euler();
    scheduler.setTimesteps(4);
    expect(scheduler.timesteps[0]).toBe(v.timestep);
    expectNumberClose(scheduler.sigmas[1]!, v.sigma_next, EXACT, 'sigma_next');
    expectClose(scheduler.scaleModelInput(sample, 0), v.scaled_model_input, EXACT, 'scaled input');
    const { prevSample, denoised } = scheduler.step(modelOutput, 0, sample);
    expectClose(denoised, v.pred_original_sample, EXACT, 'pred_x0');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
  });

  it('first of 4 trailing steps, v_prediction', () => {
    const v = ex.euler_4_step_trailing_step_0_v_prediction;
    const scheduler = euler({ predictionType: 'v_prediction' });
    scheduler.setTimesteps(4);
    const { prevSample, denoised } = scheduler.step(modelOutput, 0, sample);
    expectClose(denoised, v.pred_original_sample, EXACT, 'pred_x0');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
  });

  it('one step lands on the predicted clean latent (SD-Turbo default)', () => {
    const v = ex.euler_1_step_trailing;
    const scheduler = euler();
    scheduler.setTimesteps(1);
    expectNumberClose(scheduler.sigmas[0]!, v.sigma, EXACT, 'sigma');
    expectClose(scheduler.scaleModelInput(sample, 0), v.scaled_model_input, EXACT, 'scaled input');
    const { prevSample, denoised } = scheduler.step(modelOutput, 0, sample);
    expectClose(denoised, v.pred_original_sample, EXACT, 'pred_x0');
    expectClose(prevSample, v.prev_sample, EXACT, 'prev_sample');
  });

  it('returns the latent kind it was given', () => {
    const scheduler = euler();
    scheduler.setTimesteps(4);
    expect(scheduler.step(Float32Array.from(ex.model_output), 0, Float32Array.from(ex.sample)).prevSample).toBeInstanceOf(
      Float32Array,
    );
    expect(() => scheduler.step(new Float32Array(3), 0, new Float32Array(4))).toThrow(/combine the guidance batch/);
  });
});

describe('Euler discrete 4-step loop with the fake UNet', () => {
  const loop = vectors.full_loop_examples.euler_trailing_4;

  function run<T extends Latent>(start: T): void {
    const scheduler = euler();
    scheduler.setTimesteps(4);
    expectNumberClose(scheduler.initNoiseSigma, loop.init_noise_sigma, EXACT, 'init_noise_sigma');
    const tolerance = start instanceof Float64Array ? EXACT : FLOAT32_LOOP;
    let latent = scaled(start, scheduler.initNoiseSigma);
    scheduler.timesteps.forEach((t, i) => {
      const expected = loop.steps[i]!;
      expect(t).toBe(expected.timestep);
      const modelInput = scheduler.scaleModelInput(latent, i);
      const eps = fakeUnet(modelInput, t);
      expectClose(modelInput, expected.model_input, tolerance, `step ${i} model_input`);
      expectClose(eps, expected.model_output, tolerance, `step ${i} model_output`);
      const { prevSample, denoised } = scheduler.step(eps, i, latent);
      expectClose(denoised, expected.pred_x0, tolerance, `step ${i} pred_x0`);
      expectClose(prevSample, expected.prev_sample, tolerance, `step ${i} prev_sample`);
      latent = prevSample;
    });
    expectClose(latent, loop.final_latent, tolerance, 'final latent');
  }

  it('float64 latents reproduce every traced value', () => run(Float64Array.from(vectors.full_loop_examples.initial_noise)));
  it('float32 latents (the pipeline) stay within float32 rounding', () =>
    run(Float32Array.from(vectors.full_loop_examples.initial_noise)));
});
