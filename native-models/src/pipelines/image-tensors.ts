/**
 * Pixels ↔ VAE tensors (reference §3.4, §3.6): Uint8 RGB(A) → NCHW in [−1, 1] for the encoder, the
 * encoder's posterior → a latent, and the decoder's NCHW [−1, 1] → Uint8 pixels.
 */
import { AppError } from '../../../src/contract/errors.js';
import type { GeneratedImage, InitImage } from '../engine.js';
import type { NoiseSource } from '../schedulers/index.js';

/** `(rgb / 255) · 2 − 1` as [1, 3, H, W]; alpha is dropped. */
export function pixelsToImageTensor(image: InitImage): Float32Array {
  const { width, height, channels, data } = image;
  const plane = width * height;
  if (data.length !== plane * channels) {
    throw new AppError('invalid_input', `The init image has ${data.length} bytes; ${width}×${height} with ${channels} channels needs ${plane * channels}`, {
      hint: 'Pass raw RGB or RGBA bytes, row-major, of the stated size.',
    });
  }
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = (data[p * channels + c]! / 255) * 2 - 1;
  }
  return out;
}

/**
 * The clean latent z₀ of one encoded image, times the VAE scaling factor. `latent_parameters`
 * (Optimum ≥ 1.23) is mean ++ logvar: sample `mean + exp(logvar / 2) · randn` with the run's
 * generator, after diffusers' clamp of logvar to [−30, 20]. `latent_sample` was already sampled
 * inside the graph (older exports), so it is taken as is and draws nothing.
 */
export function latentFromEncoder(
  output: { readonly name: string; readonly data: Float32Array; readonly dims: readonly number[] },
  scalingFactor: number,
  generator: NoiseSource,
): Float32Array {
  if (output.name === 'latent_sample') return output.data.map((v) => v * scalingFactor);
  const [, channels = 0, h = 0, w = 0] = output.dims;
  const half = (channels / 2) * h * w;
  const noise = generator.randn([1, channels / 2, h, w]);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const logvar = Math.min(Math.max(output.data[half + i]!, -30), 20);
    out[i] = (output.data[i]! + Math.exp(0.5 * logvar) * noise[i]!) * scalingFactor;
  }
  return out;
}

/**
 * `round(clamp(x / 2 + 0.5, 0, 1) · 255)` per image of a [B, 3, H, W] decoder output, rounding
 * halves to even like numpy's `.round()` in diffusers' `numpy_to_pil`. A Uint8ClampedArray store
 * does exactly that clamp-and-round (and NaN → 0) in one step, which matters at 512² and up.
 */
export function imageTensorToPixels(sample: Float32Array, batch: number, height: number, width: number, pixelFormat: 'rgb' | 'rgba'): GeneratedImage[] {
  const plane = height * width;
  const channels = pixelFormat === 'rgba' ? 4 : 3;
  return Array.from({ length: batch }, (_, b) => {
    const clamped = new Uint8ClampedArray(plane * channels);
    const base = b * 3 * plane;
    const red = sample.subarray(base, base + plane);
    const green = sample.subarray(base + plane, base + 2 * plane);
    const blue = sample.subarray(base + 2 * plane, base + 3 * plane);
    // One pass per pixel, channel planes read in step: this loop is most of the pipeline's own time.
    for (let p = 0, o = 0; p < plane; p++, o += channels) {
      clamped[o] = (red[p]! * 0.5 + 0.5) * 255;
      clamped[o + 1] = (green[p]! * 0.5 + 0.5) * 255;
      clamped[o + 2] = (blue[p]! * 0.5 + 0.5) * 255;
      if (channels === 4) clamped[o + 3] = 255;
    }
    return { width, height, channels, data: new Uint8Array(clamped.buffer) };
  });
}
