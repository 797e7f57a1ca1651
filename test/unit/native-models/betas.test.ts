import { describe, expect, it } from 'vitest';
import { alphasCumprod, scaledLinearBetas } from '../../../native-models/src/schedulers/betas.js';
import { trainSigmas } from '../../../native-models/src/schedulers/euler.js';
import { expectClose } from './shared-data.js';
import { referenceNoiseSchedule, vectors } from './scheduler-vectors.js';

const table = vectors.alphas_cumprod;
const pick = (values: Float64Array): number[] => table.indices.map((i) => values[i]!);

describe('scaled_linear noise schedule (SD 1.x, SD-Turbo, SDXL, LCM)', () => {
  const betas = scaledLinearBetas(referenceNoiseSchedule);
  const acp = alphasCumprod(betas);

  it('has one beta per train timestep, from beta_start to beta_end', () => {
    expect(betas.length).toBe(1000);
    expect(betas[0]).toBe(0.00085);
    expectClose([betas[999]!], [0.012], { rel: 1e-15 }, 'last beta');
  });

  it('matches the float64 betas, alphas_cumprod and sigmas of the vectors to 1e-12 relative', () => {
    expectClose(pick(betas), table.betas_float64, { rel: 1e-12 }, 'betas');
    expectClose(pick(acp), table.float64, { rel: 1e-12 }, 'alphas_cumprod');
    expectClose(pick(trainSigmas(referenceNoiseSchedule)), table.sigma_float64, { rel: 1e-12 }, 'sigma');
  });

  it("stays within 1e-6 relative of diffusers' float32 alphas_cumprod", () => {
    expect(table.max_relative_difference_float32_vs_float64_all_1000).toBeLessThan(1e-6);
    expectClose(pick(acp), table.torch_float32_emulated, { rel: 1e-6 }, 'alphas_cumprod vs float32');
  });
});
