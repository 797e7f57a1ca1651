import type { FinalModel, FinalShape } from '../contract/finals.js';
import type { CostEstimate } from '../contract/money.js';
import type { ProviderId, ProviderSummary } from '../contract/providers.js';
import type { ProviderCatalog } from '../core/core.js';
import { resolveBaseUrl } from './base-url.js';
import { estimateCost } from './pricing.js';
import { getProvider, listProviders } from './registry.js';
import type { GenerateRequest } from './types.js';

/** A 1×1 stand-in: pricing looks at whether an input image exists, never at its bytes. */
const PLACEHOLDER_INIT_IMAGE = { bytes: new Uint8Array(1), mime: 'image/png' };

/** The core's view of the provider registry: summaries and models for the UI, estimates, and the cheapest key check. */
export function providerCatalog(env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): ProviderCatalog {
  const summaries: ProviderSummary[] = listProviders().map(({ info }) => ({
    id: info.id,
    displayName: info.displayName,
    keyRequired: info.keyRequired,
    keyHelpUrl: info.keyHelpUrl || undefined,
    officialApi: info.officialApi,
    note: info.note,
  }));
  const models: FinalModel[] = listProviders()
    .filter((p) => p.info.officialApi)
    .flatMap((p) =>
      p.models().map((m) => ({
        provider: p.info.id,
        providerName: p.info.displayName,
        model: m.id,
        displayName: m.displayName,
        status: m.lifecycle.status,
        shutdownOn: m.lifecycle.shutdownOn,
        replacement: m.lifecycle.replacement,
        sizes: m.capabilities.sizes ? [...m.capabilities.sizes] : undefined,
        aspectRatios: m.capabilities.aspectRatios ? [...m.capabilities.aspectRatios] : undefined,
        qualities: m.capabilities.qualities ? [...m.capabilities.qualities] : undefined,
        maxImagesPerCall: m.capabilities.maxImagesPerCall,
        seed: m.capabilities.seed,
        negativePrompt: m.capabilities.negativePrompt,
        img2img: m.capabilities.img2img,
      })),
    );
  return {
    list: () => summaries,
    models: () => models,
    estimate: (shape: FinalShape): CostEstimate => estimateCost(shape.provider, shape.model, toRequest(shape)),
    verifyKey: (id: ProviderId, apiKey: string | undefined) => {
      const provider = getProvider(id);
      return provider.verifyKey({ apiKey, baseUrl: resolveBaseUrl(provider.info, env), fetch: fetchImpl, signal: AbortSignal.timeout(20_000) });
    },
  };
}

function toRequest(shape: FinalShape): GenerateRequest {
  return {
    model: shape.model,
    prompt: shape.prompt || ' ',
    width: shape.width,
    height: shape.height,
    aspectRatio: shape.aspectRatio,
    n: shape.n,
    quality: shape.quality,
    initImage: shape.img2img ? PLACEHOLDER_INIT_IMAGE : undefined,
  };
}
