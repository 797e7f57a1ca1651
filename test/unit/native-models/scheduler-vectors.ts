/**
 * `shared/data/scheduler-vectors.json` (made by `scheduler-vectors.py`), parsed so a reshaped file
 * fails loudly here instead of as undefined numbers inside a test.
 */
import { z } from 'zod';
import { emptyLike, type Latent } from '../../../native-models/src/schedulers/types.js';
import { readSharedText } from './shared-data.js';

const numbers = z.array(z.number());

const eulerCase = z.object({
  num_inference_steps: z.number(),
  timesteps: numbers,
  sigmas: numbers,
  init_noise_sigma: z.number(),
});

const plainStep = z.object({
  timestep: z.number(),
  model_input: numbers,
  model_output: numbers,
  pred_x0: numbers,
  prev_sample: numbers,
});

const schema = z.object({
  config: z.object({
    num_train_timesteps: z.number(),
    beta_start: z.number(),
    beta_end: z.number(),
    lcm_original_inference_steps: z.number(),
    lcm_timestep_scaling: z.number(),
    lcm_time_cond_proj_dim: z.number(),
  }),
  alphas_cumprod: z.object({
    indices: numbers,
    float64: numbers,
    torch_float32_emulated: numbers,
    betas_float64: numbers,
    sigma_float64: numbers,
    max_relative_difference_float32_vs_float64_all_1000: z.number(),
  }),
  euler_discrete_trailing: z.object({
    cases: z.array(eulerCase),
    trap_16_steps_with_js_math_round: z.object({ timesteps_wrong: numbers }),
  }),
  euler_discrete_other_spacings: z.object({
    cases: z.array(
      eulerCase.extend({
        timestep_spacing: z.enum(['leading', 'linspace', 'trailing']),
        steps_offset: z.number(),
      }),
    ),
  }),
  euler_ancestral_trailing: z.object({
    cases: z.array(
      eulerCase.extend({
        steps: z.array(
          z.object({
            step_index: z.number(),
            timestep: z.number(),
            sigma_from: z.number(),
            sigma_to: z.number(),
            sigma_up: z.number(),
            sigma_down: z.number(),
          }),
        ),
      }),
    ),
  }),
  lcm: z.object({
    cases: z.array(
      z.object({
        num_inference_steps: z.number(),
        timesteps: numbers,
        per_timestep: z.array(
          z.object({
            timestep: z.number(),
            c_skip: z.number(),
            c_out: z.number(),
            alphas_cumprod_t: z.number(),
            next_timestep: z.number().nullable(),
            alphas_cumprod_next: z.number().nullable(),
            noise_injected_after_this_step: z.boolean(),
          }),
        ),
      }),
    ),
  }),
  lcm_guidance_embedding: z.object({
    guidance_scale: z.number(),
    dim: z.number(),
    frequencies_first_8_float64: numbers,
    first_8_float64: numbers,
    last_8_float64: numbers,
    float64: numbers,
  }),
  step_examples: z.object({
    sample: numbers,
    model_output: numbers,
    noise: numbers,
    euler_4_step_trailing_step_0_epsilon: z.object({
      timestep: z.number(),
      sigma: z.number(),
      sigma_next: z.number(),
      scaled_model_input: numbers,
      pred_original_sample: numbers,
      prev_sample: numbers,
    }),
    euler_4_step_trailing_step_0_v_prediction: z.object({ pred_original_sample: numbers, prev_sample: numbers }),
    euler_1_step_trailing: z.object({
      timestep: z.number(),
      sigma: z.number(),
      scaled_model_input: numbers,
      pred_original_sample: numbers,
      prev_sample: numbers,
    }),
    euler_ancestral_4_step_trailing_step_0: z.object({
      sigma_up: z.number(),
      sigma_down: z.number(),
      scaled_model_input: numbers,
      pred_original_sample: numbers,
      prev_sample: numbers,
    }),
    lcm_4_step_step_0: z.object({
      timestep: z.number(),
      next_timestep: z.number(),
      c_skip: z.number(),
      c_out: z.number(),
      alphas_cumprod_t: z.number(),
      alphas_cumprod_next: z.number(),
      pred_original_sample: numbers,
      denoised: numbers,
      prev_sample: numbers,
    }),
    lcm_4_step_final_step: z.object({
      timestep: z.number(),
      c_skip: z.number(),
      c_out: z.number(),
      alphas_cumprod_t: z.number(),
      pred_original_sample: numbers,
      denoised: numbers,
      prev_sample: numbers,
    }),
    lcm_1_step: z.object({
      timestep: z.number(),
      c_skip: z.number(),
      c_out: z.number(),
      pred_original_sample: numbers,
      denoised: numbers,
    }),
  }),
  full_loop_examples: z.object({
    initial_noise: numbers,
    per_step_noise: z.array(numbers),
    euler_trailing_4: z.object({ init_noise_sigma: z.number(), steps: z.array(plainStep), final_latent: numbers }),
    euler_ancestral_trailing_4: z.object({
      init_noise_sigma: z.number(),
      steps: z.array(
        plainStep.extend({ sigma_up: z.number(), sigma_down: z.number(), noise_used: numbers }),
      ),
      final_latent: numbers,
    }),
    lcm_4: z.object({
      init_noise_sigma: z.number(),
      steps: z.array(
        z.object({
          timestep: z.number(),
          model_output: numbers,
          pred_x0: numbers,
          c_skip: z.number(),
          c_out: z.number(),
          denoised: numbers,
          noise_used: numbers.nullable(),
          prev_sample: numbers,
        }),
      ),
      final_latent: numbers,
    }),
  }),
});

export type SchedulerVectors = z.infer<typeof schema>;

export const vectors: SchedulerVectors = schema.parse(JSON.parse(readSharedText('scheduler-vectors.json')));

/** The shared training schedule of all five reference models, as the vectors state it. */
export const referenceNoiseSchedule = {
  numTrainTimesteps: vectors.config.num_train_timesteps,
  betaStart: vectors.config.beta_start,
  betaEnd: vectors.config.beta_end,
};

/** The stand-in model of the full-loop vectors: eps = 0.5·input + t/1000, in the input's precision
 *  (a Float32Array stands for what ONNX Runtime would return). */
export function fakeUnet<T extends Latent>(modelInput: T, timestep: number): T {
  const out = emptyLike(modelInput);
  for (let i = 0; i < modelInput.length; i++) out[i] = 0.5 * modelInput[i]! + timestep / 1000;
  return out;
}

/** Float64 latents reproduce the float64 reference to the last few bits (measured: ≤ 2e-15 relative). */
export const EXACT = { rel: 1e-12, abs: 1e-15 };

/**
 * Float32 latents, as the pipeline keeps them, round every stored value: |Δ| ≤ 1e-6·|expected|, or
 * ≤ 1e-6 for values below 1. (Measured on the 4-step loops: worst |Δ| 9.4e-7, half a float32 ulp at
 * |x| ≈ 20; worst relative 1.2e-5, on a pred_x0 of 0.049 left by cancellation.)
 */
export const FLOAT32_LOOP = { rel: 1e-6, abs: 1e-6 };

/** The initial draw times init_noise_sigma, in the draw's precision (what prepare_latents does). */
export function scaled<T extends Latent>(noise: T, factor: number): T {
  const out = emptyLike(noise);
  for (let i = 0; i < noise.length; i++) out[i] = noise[i]! * factor;
  return out;
}

/** Hands out the listed per-step noise vectors in order and counts the draws. */
export class ListedNoise {
  draws = 0;
  constructor(
    private readonly noises: readonly (readonly number[])[],
    private readonly kind: 'float64' | 'float32',
  ) {}

  randn(shape: readonly number[]): Float32Array | Float64Array {
    const noise = this.noises[this.draws++];
    if (noise === undefined) throw new Error(`The vectors list no noise for draw ${this.draws}.`);
    if (shape.reduce((a, b) => a * b, 1) !== noise.length) throw new Error(`Asked for shape [${shape.join(',')}].`);
    return this.kind === 'float64' ? Float64Array.from(noise) : Float32Array.from(noise);
  }
}
