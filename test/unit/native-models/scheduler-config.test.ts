import { describe, expect, it } from 'vitest';
import {
  EulerAncestralDiscreteScheduler,
  EulerDiscreteScheduler,
  LcmScheduler,
  SchedulerConfigError,
  createScheduler,
  schedulerNameForClass,
} from '../../../native-models/src/schedulers/index.js';
import { vectors } from './scheduler-vectors.js';

// scheduler_config.json of the reference repos, key for key as reference §1.4 lists them.
const sdTurbo = {
  _class_name: 'EulerDiscreteScheduler',
  _diffusers_version: '0.24.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  interpolation_type: 'linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  sample_max_value: 1.0,
  set_alpha_to_one: false,
  sigma_max: null,
  sigma_min: null,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: 'trailing',
  timestep_type: 'discrete',
  trained_betas: null,
  use_karras_sigmas: false,
};
const sdxlTurbo = {
  _class_name: 'EulerAncestralDiscreteScheduler',
  _diffusers_version: '0.24.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'trailing',
  trained_betas: null,
};
const lcmDreamshaper = {
  _class_name: 'LCMScheduler',
  _diffusers_version: '0.22.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  clip_sample_range: 1.0,
  dynamic_thresholding_ratio: 0.995,
  num_train_timesteps: 1000,
  original_inference_steps: 50,
  prediction_type: 'epsilon',
  rescale_betas_zero_snr: false,
  sample_max_value: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  thresholding: false,
  timestep_spacing: 'leading',
  trained_betas: null,
};
const sd15 = {
  _class_name: 'PNDMScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};
const sdxlBase = {
  _class_name: 'EulerDiscreteScheduler',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  interpolation_type: 'linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'leading',
  use_karras_sigmas: false,
};

const spacingCase = (spacing: string, steps: number) =>
  vectors.euler_discrete_other_spacings.cases.find(
    (c) => c.timestep_spacing === spacing && c.num_inference_steps === steps,
  )!;

describe('createScheduler from a model folder scheduler_config.json', () => {
  it('SD-Turbo: Euler, trailing', () => {
    const scheduler = createScheduler(sdTurbo);
    expect(scheduler).toBeInstanceOf(EulerDiscreteScheduler);
    scheduler.setTimesteps(1);
    expect(scheduler.timesteps).toEqual([999]);
    expect(scheduler.initNoiseSigma).toBe(vectors.euler_discrete_trailing.cases[0]!.init_noise_sigma);
  });

  it('SDXL-Turbo: Euler Ancestral, trailing', () => {
    const scheduler = createScheduler(sdxlTurbo);
    expect(scheduler).toBeInstanceOf(EulerAncestralDiscreteScheduler);
    scheduler.setTimesteps(4);
    expect(scheduler.timesteps).toEqual([999, 749, 499, 249]);
  });

  it("LCM-Dreamshaper-v7: LCM, ignoring the config's leading spacing", () => {
    const scheduler = createScheduler(lcmDreamshaper);
    expect(scheduler).toBeInstanceOf(LcmScheduler);
    scheduler.setTimesteps(4);
    expect(scheduler.timesteps).toEqual([999, 759, 499, 259]);
  });

  it('SDXL base: Euler, leading with steps_offset 1', () => {
    const scheduler = createScheduler(sdxlBase);
    scheduler.setTimesteps(4);
    expect(scheduler.timesteps).toEqual(spacingCase('leading', 4).timesteps);
    expect(scheduler.initNoiseSigma).toBe(spacingCase('leading', 4).init_noise_sigma);
  });

  it('SD 1.5 ships PNDM: refused by class, and Euler by name falls back to linspace as in diffusers', () => {
    expect(() => createScheduler(sd15)).toThrow(/PNDMScheduler, which ImageBench does not run/);
    const scheduler = createScheduler(sd15, 'euler');
    scheduler.setTimesteps(3);
    expect(scheduler.timesteps).toEqual(spacingCase('linspace', 3).timesteps);
  });

  it('a name overrides the class: SD-Turbo with Euler Ancestral keeps its trailing spacing', () => {
    const scheduler = createScheduler(sdTurbo, 'euler-ancestral');
    expect(scheduler.name).toBe('euler-ancestral');
    scheduler.setTimesteps(2);
    expect(scheduler.timesteps).toEqual([999, 499]);
  });

  it('maps diffusers class names', () => {
    expect(schedulerNameForClass('LCMScheduler')).toBe('lcm');
    expect(schedulerNameForClass('DDIMScheduler')).toBeUndefined();
    expect(schedulerNameForClass('toString')).toBeUndefined();
  });
});

describe('createScheduler refuses what it would get wrong', () => {
  it.each([
    [{ ...sdTurbo, use_karras_sigmas: true }, /use_karras_sigmas: true/],
    [{ ...sdTurbo, timestep_spacing: 'sometimes' }, /timestep_spacing to "sometimes"/],
    [{ ...sdTurbo, beta_schedule: 'squaredcos_cap_v2' }, /beta_schedule to "squaredcos_cap_v2"/],
    [{ ...sdTurbo, prediction_type: 'sample' }, /prediction_type/],
    [{ ...sdTurbo, num_train_timesteps: '1000' }, /num_train_timesteps should be a whole number/],
    [{ ...sdxlTurbo, beta_schedule: undefined }, /defaults beta_schedule to "linear"/],
    [{ ...lcmDreamshaper, clip_sample: true }, /clip_sample: true/],
    [{ ...lcmDreamshaper, trained_betas: [0.1, 0.2] }, /trained_betas/],
    [{ beta_schedule: 'scaled_linear' }, /no _class_name/],
    [[], /JSON object/],
  ])('%#: %j', (config, message) => {
    expect(() => createScheduler(config)).toThrow(SchedulerConfigError);
    expect(() => createScheduler(config)).toThrow(message);
  });
});
