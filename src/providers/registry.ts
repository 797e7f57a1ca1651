import { AppError } from '../contract/errors.js';
import { a1111Provider } from './a1111.js';
import { bflProvider } from './bfl.js';
import { comfyuiProvider } from './comfyui.js';
import { falProvider } from './fal.js';
import { googleProvider } from './google.js';
import { ideogramProvider } from './ideogram.js';
import { leonardoProvider } from './leonardo.js';
import { midjourneyProvider } from './midjourney.js';
import { openaiProvider } from './openai.js';
import { replicateProvider } from './replicate.js';
import { stabilityProvider } from './stability.js';
import { ProviderIdSchema, type ImageProvider, type ProviderId } from './types.js';

/** Every provider by id; the one place that knows them all. */
export const PROVIDERS: Readonly<Record<ProviderId, ImageProvider>> = {
  openai: openaiProvider,
  stability: stabilityProvider,
  replicate: replicateProvider,
  fal: falProvider,
  bfl: bflProvider,
  ideogram: ideogramProvider,
  google: googleProvider,
  leonardo: leonardoProvider,
  comfyui: comfyuiProvider,
  a1111: a1111Provider,
  midjourney: midjourneyProvider,
};

export function getProvider(id: string): ImageProvider {
  const parsed = ProviderIdSchema.safeParse(id);
  if (!parsed.success) {
    throw new AppError('invalid_input', `There is no provider "${id}".`, { hint: `Known providers: ${ProviderIdSchema.options.join(', ')}.` });
  }
  return PROVIDERS[parsed.data];
}

export function listProviders(): ImageProvider[] {
  return ProviderIdSchema.options.map((id) => PROVIDERS[id]);
}
