import sharp from 'sharp';

/**
 * Photo-like test images made on the fly (no committed blobs): smooth gradients with deterministic
 * noise, so lossy encoders have something real to compress and sizes compare the way photos do.
 */
export async function makePng(width: number, height: number, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  const noise = (): number => {
    // xorshift32: the same seed gives the same bytes on every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) % 32) - 16;
  };
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      pixels[i] = clamp((255 * x) / width + noise());
      pixels[i + 1] = clamp((255 * y) / height + noise());
      pixels[i + 2] = clamp(128 + 100 * Math.sin((x + y + seed * 7) / 17) + noise());
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Decoded RGB pixels, to show an operation left the image itself untouched. */
export async function rawPixels(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes).removeAlpha().raw().toBuffer();
}
