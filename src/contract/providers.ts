import { z } from 'zod';

/** Every cloud or self-hosted image service ImageBench knows, including ones it can only explain (Midjourney). */
export const ProviderIdSchema = z.enum([
  'openai',
  'stability',
  'replicate',
  'fal',
  'bfl',
  'ideogram',
  'google',
  'leonardo',
  'comfyui',
  'a1111',
  'midjourney',
]);
export type ProviderId = z.infer<typeof ProviderIdSchema>;

export const ProviderSummarySchema = z.object({
  id: ProviderIdSchema,
  displayName: z.string(),
  keyRequired: z.boolean(),
  keyHelpUrl: z.string().optional(),
  officialApi: z.boolean(),
  note: z.string().optional(),
});
export type ProviderSummary = z.infer<typeof ProviderSummarySchema>;

/** What the UI may know about a key: whether it is there and its last four characters. Never the key. */
export const KeyStatusSchema = z.object({
  provider: ProviderIdSchema,
  set: z.boolean(),
  source: z.enum(['keychain', 'safe-storage', 'env', 'none']),
  last4: z.string().length(4).nullable(),
});
export type KeyStatus = z.infer<typeof KeyStatusSchema>;

/** Env var that overrides the keychain for headless use, e.g. IMAGEBENCH_OPENAI_API_KEY. */
export function keyEnvVar(provider: ProviderId): string {
  return `IMAGEBENCH_${provider.toUpperCase()}_API_KEY`;
}
