import { describe, expect, it } from 'vitest';
import { SD15_LATENT_RGB, SDXL_LATENT_RGB, latentToRgba } from '../../../native-models/src/preview/latent-rgb.js';

/** NCHW [1, 4, h, w] from per-pixel channel vectors given in row-major pixel order. */
function latentFromPixels(pixels: readonly (readonly [number, number, number, number])[]): Float32Array {
  const plane = pixels.length;
  const latent = new Float32Array(4 * plane);
  pixels.forEach((channels, p) => channels.forEach((v, c) => (latent[c * plane + p] = v)));
  return latent;
}

const rgbaAt = (rgba: Uint8ClampedArray, p: number): number[] => Array.from(rgba.subarray(4 * p, 4 * p + 4));

describe('latent → RGB preview (ComfyUI factors, reference §4.1)', () => {
  // Expected bytes worked by hand: rgb = Σ_k latent[k]·F[k] + bias, then trunc(clamp((v+1)/2, 0, 1)·255).
  it('SD 1.x: each pixel from its own 4 channels', () => {
    const latent = latentFromPixels([
      [1, 0, 0, 0], // row 0 of F: 0.3512, 0.2297, 0.3227 → 172.278, 156.787, 168.644
      [0, 0, 0, 1], // row 3: −0.212, −0.2616, −0.7177 → 100.47, 94.146, 35.993 (truncated, not rounded)
      [0.5, -0.5, 1, 0.25], // −0.3228, −0.02305, 0.136525 → 86.343, 124.561, 144.907
      [3, 0, 0, 0], // 1.0536 (clamped), 0.6891, 0.9681 → 255, 215.36, 250.93
    ]);
    const rgba = latentToRgba(latent, 2, 2, SD15_LATENT_RGB);
    expect(rgba).toHaveLength(2 * 2 * 4);
    expect(rgbaAt(rgba, 0)).toEqual([172, 156, 168, 255]);
    expect(rgbaAt(rgba, 1)).toEqual([100, 94, 35, 255]);
    expect(rgbaAt(rgba, 2)).toEqual([86, 124, 144, 255]);
    expect(rgbaAt(rgba, 3)).toEqual([255, 215, 250, 255]);
  });

  it('SDXL: the bias applies, and negative values clamp to 0', () => {
    const latent = latentFromPixels([
      [0, 0, 0, 0], // bias only: 0.1084, −0.0175, −0.0011 → 141.321, 125.269, 127.360
      [1, 1, 1, 1], // column sums + bias: 0.0113, 0.2634, 0.2848 → 128.941, 161.084, 163.812
      [0, 0, 0, 4], // −1.1576, −1.0143, −0.8763 → 0 (clamped), 0 (clamped), 15.772
    ]);
    const rgba = latentToRgba(latent, 1, 3, SDXL_LATENT_RGB);
    expect(rgbaAt(rgba, 0)).toEqual([141, 125, 127, 255]);
    expect(rgbaAt(rgba, 1)).toEqual([128, 161, 163, 255]);
    expect(rgbaAt(rgba, 2)).toEqual([0, 0, 15, 255]);
  });

  it('previews the first image of a batch', () => {
    const first = latentFromPixels([[1, 0, 0, 0]]);
    const batch = new Float32Array(8);
    batch.set(first);
    batch.set(latentFromPixels([[0, 0, 0, 1]]), 4);
    expect(latentToRgba(batch, 1, 1, SD15_LATENT_RGB)).toEqual(latentToRgba(first, 1, 1, SD15_LATENT_RGB));
  });

  it('refuses a latent that is not [batch, 4, h, w]', () => {
    expect(() => latentToRgba(new Float32Array(4 * 8 * 8 - 1), 8, 8, SD15_LATENT_RGB)).toThrow(/is not \[batch, 4, 8, 8\]/);
  });
});
