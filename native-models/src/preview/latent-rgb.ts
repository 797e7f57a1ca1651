/**
 * A per-step preview image straight from the latent: each latent pixel's 4 channels times a fitted
 * 4×3 matrix (plus a bias) approximates the VAE's RGB, at latent resolution (1/8 of the image), for
 * a few multiply-adds per pixel instead of a VAE decode. Factors and the −1..1 → 0..255 mapping are
 * ComfyUI's (`comfy/latent_formats.py`, `latent_preview.py`), reference §4.1.
 *
 * Feed it the scheduler's `denoised` (x₀ estimate) in the UNet's scaled latent space; the noisy
 * latent would preview as noise.
 */

export interface LatentRgbFactors {
  /** Rows: latent channels 0..3; columns: R, G, B. */
  readonly matrix: readonly (readonly [number, number, number])[];
  readonly bias: readonly [number, number, number];
}

/** SD 1.x / 2.x latents (also SD-Turbo and LCM-Dreamshaper, which share the SD VAE). */
export const SD15_LATENT_RGB: LatentRgbFactors = {
  matrix: [
    [0.3512, 0.2297, 0.3227],
    [0.325, 0.4974, 0.235],
    [-0.2829, 0.1762, 0.2721],
    [-0.212, -0.2616, -0.7177],
  ],
  bias: [0, 0, 0],
};

/** SDXL / SDXL-Turbo latents. */
export const SDXL_LATENT_RGB: LatentRgbFactors = {
  matrix: [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
  ],
  bias: [0.1084, -0.0175, -0.0011],
};

/**
 * RGBA pixels (height × width, row-major, alpha 255) for the first image of an NCHW latent
 * `[batch, 4, height, width]`. Like ComfyUI, values are clamped to −1..1 and mapped with
 * `trunc((v + 1) / 2 · 255)`.
 */
export function latentToRgba(
  latent: Float32Array,
  height: number,
  width: number,
  factors: LatentRgbFactors,
): Uint8ClampedArray {
  const plane = height * width;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`Preview size ${height}×${width} is not a positive whole size.`);
  }
  if (latent.length < 4 * plane || latent.length % (4 * plane) !== 0) {
    throw new RangeError(`A latent of ${latent.length} values is not [batch, 4, ${height}, ${width}].`);
  }
  const [r, g, b] = columns(factors);
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    const c0 = latent[p]!;
    const c1 = latent[plane + p]!;
    const c2 = latent[2 * plane + p]!;
    const c3 = latent[3 * plane + p]!;
    rgba[4 * p] = toByte(r[0] * c0 + r[1] * c1 + r[2] * c2 + r[3] * c3 + r[4]);
    rgba[4 * p + 1] = toByte(g[0] * c0 + g[1] * c1 + g[2] * c2 + g[3] * c3 + g[4]);
    rgba[4 * p + 2] = toByte(b[0] * c0 + b[1] * c1 + b[2] * c2 + b[3] * c3 + b[4]);
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}

type Column = readonly [number, number, number, number, number];

/** Per output colour: the 4 channel weights then the bias, so the pixel loop has no lookups to check. */
function columns(factors: LatentRgbFactors): [Column, Column, Column] {
  const weight = (channel: number, colour: 0 | 1 | 2): number => {
    const row = factors.matrix[channel];
    if (row === undefined) throw new RangeError('Latent RGB factors need one row per latent channel (4).');
    return row[colour];
  };
  const column = (colour: 0 | 1 | 2): Column => [
    weight(0, colour),
    weight(1, colour),
    weight(2, colour),
    weight(3, colour),
    factors.bias[colour],
  ];
  return [column(0), column(1), column(2)];
}

/** ComfyUI's `((v + 1) / 2).clamp(0, 1) · 255` then a uint8 cast, which truncates. */
function toByte(v: number): number {
  const unit = Math.min(Math.max((v + 1) / 2, 0), 1);
  return Math.trunc(unit * 255);
}
