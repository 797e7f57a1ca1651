import type { ProviderId, ProviderSummary } from '../contract/providers.js';
import type { ProviderCatalog } from '../core/core.js';
import { resolveBaseUrl } from './base-url.js';
import { getProvider, listProviders } from './registry.js';

/** The core's view of the provider registry: summaries for the UI, and the cheapest key check. */
export function providerCatalog(env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): ProviderCatalog {
  const summaries: ProviderSummary[] = listProviders().map(({ info }) => ({
    id: info.id,
    displayName: info.displayName,
    keyRequired: info.keyRequired,
    keyHelpUrl: info.keyHelpUrl || undefined,
    officialApi: info.officialApi,
    note: info.note,
  }));
  return {
    list: () => summaries,
    verifyKey: (id: ProviderId, apiKey: string | undefined) => {
      const provider = getProvider(id);
      return provider.verifyKey({ apiKey, baseUrl: resolveBaseUrl(provider.info, env), fetch: fetchImpl, signal: AbortSignal.timeout(20_000) });
    },
  };
}
