/**
 * Build a scheduler from a diffusers `scheduler/scheduler_config.json`, by name or by the config's
 * own `_class_name`. Missing keys take the chosen class's diffusers defaults, so an SD 1.5 folder
 * (PNDM config, no `timestep_spacing`) run with Euler gets diffusers' `linspace`, as `from_config`
 * would give. Options these ports do not implement are refused with a message, never ignored.
 */
import type { NoiseScheduleConfig } from './betas.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { EulerDiscreteScheduler, type EulerConfig } from './euler.js';
import { LcmScheduler, type LcmConfig } from './lcm.js';
import type { Scheduler, SchedulerName } from './types.js';

export type { Latent, NoiseSource, Scheduler, SchedulerName, StepResult } from './types.js';
export { EulerDiscreteScheduler } from './euler.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { LcmScheduler, guidanceScaleEmbedding } from './lcm.js';
export { img2imgStartIndex } from './img2img.js';

export class SchedulerConfigError extends Error {
  override readonly name = 'SchedulerConfigError';
}

const CLASS_TO_NAME: Readonly<Record<string, SchedulerName>> = {
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler-ancestral',
  LCMScheduler: 'lcm',
};

/** The scheduler a config's `_class_name` asks for, if it is one ImageBench runs. */
export function schedulerNameForClass(className: string): SchedulerName | undefined {
  return Object.hasOwn(CLASS_TO_NAME, className) ? CLASS_TO_NAME[className] : undefined;
}

/** `name` overrides the config's `_class_name` (e.g. Euler for an SD 1.5 folder that ships PNDM). */
export function createScheduler(schedulerConfig: unknown, name?: SchedulerName): Scheduler {
  const config = new ConfigReader(schedulerConfig);
  const chosen = name ?? config.classScheduler();
  switch (chosen) {
    case 'euler':
      return new EulerDiscreteScheduler(eulerConfig(config));
    case 'euler-ancestral':
      return new EulerAncestralDiscreteScheduler(eulerConfig(config));
    case 'lcm':
      return new LcmScheduler(lcmConfig(config));
  }
}

// Defaults below are those of the diffusers class constructors (main, Aug 2026).

function eulerConfig(config: ConfigReader): EulerConfig {
  config.refuseTrue('use_karras_sigmas', 'use_exponential_sigmas', 'use_beta_sigmas', 'rescale_betas_zero_snr');
  config.requireValue('interpolation_type', 'linear');
  config.requireValue('timestep_type', 'discrete');
  config.requireValue('final_sigmas_type', 'zero');
  return {
    ...noiseSchedule(config, { betaStart: 0.0001, betaEnd: 0.02, betaSchedule: 'linear' }),
    predictionType: config.oneOf('prediction_type', ['epsilon', 'v_prediction'], 'epsilon'),
    timestepSpacing: config.oneOf('timestep_spacing', ['linspace', 'leading', 'trailing'], 'linspace'),
    stepsOffset: config.wholeNumber('steps_offset', 0, 0),
  };
}

function lcmConfig(config: ConfigReader): LcmConfig {
  config.refuseTrue('clip_sample', 'thresholding', 'rescale_betas_zero_snr');
  config.oneOf('prediction_type', ['epsilon'], 'epsilon');
  return {
    ...noiseSchedule(config, { betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear' }),
    originalInferenceSteps: config.wholeNumber('original_inference_steps', 50, 1),
    timestepScaling: config.positiveNumber('timestep_scaling', 10),
  };
}

interface BetaDefaults {
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: string;
}

function noiseSchedule(config: ConfigReader, defaults: BetaDefaults): NoiseScheduleConfig {
  if (config.has('trained_betas')) {
    throw new SchedulerConfigError('scheduler_config.json sets trained_betas, which ImageBench does not support.');
  }
  config.oneOf('beta_schedule', ['scaled_linear'], defaults.betaSchedule);
  return {
    numTrainTimesteps: config.wholeNumber('num_train_timesteps', 1000, 1),
    betaStart: config.positiveNumber('beta_start', defaults.betaStart),
    betaEnd: config.positiveNumber('beta_end', defaults.betaEnd),
  };
}

/** Typed reads from the parsed JSON, each failing with the key, the value and what was expected. */
class ConfigReader {
  private readonly values: Readonly<Record<string, unknown>>;

  constructor(json: unknown) {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new SchedulerConfigError('scheduler_config.json must contain a JSON object.');
    }
    this.values = json as Readonly<Record<string, unknown>>;
  }

  /** Present with a value; a null counts as absent, so the class default applies. */
  has(key: string): boolean {
    const value = Object.hasOwn(this.values, key) ? this.values[key] : undefined;
    return value !== undefined && value !== null;
  }

  classScheduler(): SchedulerName {
    const className = this.values['_class_name'];
    if (typeof className !== 'string') {
      throw new SchedulerConfigError('scheduler_config.json has no _class_name; choose a scheduler: euler, euler-ancestral or lcm.');
    }
    const name = schedulerNameForClass(className);
    if (name === undefined) {
      throw new SchedulerConfigError(
        `scheduler_config.json asks for ${className}, which ImageBench does not run; ` +
          'choose euler, euler-ancestral or lcm instead.',
      );
    }
    return name;
  }

  oneOf<const T extends string>(key: string, allowed: readonly T[], fallback: T | string): T {
    const value = this.has(key) ? this.values[key] : fallback;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) {
      throw new SchedulerConfigError(
        `scheduler_config.json ${this.has(key) ? 'sets' : 'defaults'} ${key} to ${JSON.stringify(value)}; ` +
          `ImageBench supports ${allowed.map((a) => JSON.stringify(a)).join(' or ')}.`,
      );
    }
    return match;
  }

  requireValue(key: string, expected: string): void {
    this.oneOf(key, [expected], expected);
  }

  refuseTrue(...keys: string[]): void {
    for (const key of keys) {
      if (this.values[key] === true) {
        throw new SchedulerConfigError(`scheduler_config.json sets ${key}: true, which ImageBench does not support.`);
      }
    }
  }

  wholeNumber(key: string, fallback: number, min: number): number {
    const value = this.has(key) ? this.values[key] : fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new SchedulerConfigError(`scheduler_config.json ${key} should be a whole number ≥ ${min}; got ${JSON.stringify(value)}.`);
    }
    return value;
  }

  positiveNumber(key: string, fallback: number): number {
    const value = this.has(key) ? this.values[key] : fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SchedulerConfigError(`scheduler_config.json ${key} should be a positive number; got ${JSON.stringify(value)}.`);
    }
    return value;
  }
}
