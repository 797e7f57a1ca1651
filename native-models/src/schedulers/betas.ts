/**
 * The training noise schedule every supported scheduler derives from: `scaled_linear` betas and
 * their cumulative alpha product, as diffusers builds them from a `scheduler_config.json`.
 *
 * Computed in float64 exactly as numpy does it (`linspace` = `i·step + start` with the last value
 * pinned to `stop`). diffusers itself uses float32 torch tensors; the two differ by < 1e-6
 * relative in alphas_cumprod (scheduler-vectors.json `max_relative_difference_float32_vs_float64`).
 */

export interface NoiseScheduleConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
}

/** `betas = linspace(√beta_start, √beta_end, N)²` (diffusers `beta_schedule: "scaled_linear"`). */
export function scaledLinearBetas(config: NoiseScheduleConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const start = Math.sqrt(config.betaStart);
  const stop = Math.sqrt(config.betaEnd);
  const roots = linspace(start, stop, n);
  return roots.map((r) => r * r);
}

/** `alphas_cumprod[t] = Π_{i ≤ t} (1 − beta[i])`, accumulated left to right like `np.cumprod`. */
export function alphasCumprod(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let product = 1;
  betas.forEach((beta, i) => {
    product *= 1 - beta;
    out[i] = product;
  });
  return out;
}

/** numpy's `linspace(start, stop, num)` with `endpoint=True`, value for value. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  if (num === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}
