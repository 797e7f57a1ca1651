import type { GenerateRequest } from './types.js';

/** Width ÷ height of what the user asked for. */
export function requestedRatio(req: GenerateRequest): number {
  if (req.width !== undefined && req.height !== undefined) return req.width / req.height;
  const [w, h] = (req.aspectRatio ?? '1:1').split(':').map(Number);
  return w && h ? w / h : 1;
}

function ratioValue(ratio: string): number {
  const [w, h] = ratio.split(/[:x]/).map(Number);
  return w && h ? w / h : 1;
}

/** The allowed ratio closest to the request, compared on a log scale so 2:1 and 1:2 are equally far from 1:1. */
export function nearestAspectRatio(req: GenerateRequest, allowed: readonly string[]): string {
  const wanted = Math.log(requestedRatio(req));
  let best = allowed[0] ?? '1:1';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of allowed) {
    const distance = Math.abs(Math.log(ratioValue(candidate)) - wanted);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** An exact `WxH` size when the model lists it, else the listed size with the closest shape. */
export function nearestSize(req: GenerateRequest, sizes: readonly string[]): string {
  if (req.width !== undefined && req.height !== undefined) {
    const exact = `${req.width}x${req.height}`;
    if (sizes.includes(exact)) return exact;
  }
  return nearestAspectRatio(req, sizes);
}

export function parseSize(size: string): { width: number; height: number } {
  const [width = 0, height = 0] = size.split('x').map(Number);
  return { width, height };
}

/** Pixels of one output image; a ratio-only request is taken at the model's nominal megapixel. */
export function requestedPixels(req: GenerateRequest, nominalPixels = 1024 * 1024): number {
  if (req.width !== undefined && req.height !== undefined) return req.width * req.height;
  return nominalPixels;
}

/** Rounds to a multiple of `step` within [min, max], keeping the requested shape. */
export function snapDimensions(
  req: GenerateRequest,
  options: { step: number; min: number; max: number; nominalPixels?: number },
): { width: number; height: number } {
  const ratio = requestedRatio(req);
  const pixels = requestedPixels(req, options.nominalPixels);
  const rawWidth = req.width ?? Math.sqrt(pixels * ratio);
  const rawHeight = req.height ?? Math.sqrt(pixels / ratio);
  const snap = (v: number): number => Math.min(options.max, Math.max(options.min, Math.round(v / options.step) * options.step));
  return { width: snap(rawWidth), height: snap(rawHeight) };
}
