import { z } from 'zod';
import { CostEstimateSchema } from './money.js';
import { ProviderIdSchema } from './providers.js';

/** One cloud (or self-hosted) model as the Finals screen and `imagebench estimate` show it. */
export const FinalModelSchema = z.object({
  provider: ProviderIdSchema,
  providerName: z.string(),
  model: z.string(),
  displayName: z.string(),
  status: z.enum(['current', 'legacy', 'deprecated', 'retired']),
  shutdownOn: z.string().optional(),
  replacement: z.string().optional(),
  sizes: z.array(z.string()).optional(),
  aspectRatios: z.array(z.string()).optional(),
  qualities: z.array(z.string()).optional(),
  maxImagesPerCall: z.number().int().positive(),
  seed: z.boolean(),
  negativePrompt: z.boolean(),
  img2img: z.boolean(),
});
export type FinalModel = z.infer<typeof FinalModelSchema>;

/** The fields every cloud final has: what it is, where it goes, how big and how many. */
export const FinalFieldsSchema = z.object({
  provider: ProviderIdSchema,
  model: z.string().min(1),
  prompt: z.string().min(1),
  negativePrompt: z.string().optional(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  aspectRatio: z.string().regex(/^\d+:\d+$/).optional(),
  n: z.number().int().min(1).max(16).default(1),
  seed: z.number().int().nonnegative().optional(),
  quality: z.string().optional(),
});

/** Every final needs a size: exact pixels, or a ratio for models that take one. */
export function hasSize(r: { width?: number | undefined; height?: number | undefined; aspectRatio?: string | undefined }): boolean {
  return (r.width !== undefined && r.height !== undefined) || r.aspectRatio !== undefined;
}
export const SIZE_REQUIRED = { message: 'give width and height, or an aspect ratio' };

/** The shape of a final request, enough to price it (the prompt may still be empty while typing). */
export const FinalShapeSchema = FinalFieldsSchema.pick({ provider: true, model: true, width: true, height: true, aspectRatio: true, n: true, quality: true })
  .extend({ prompt: z.string().default(''), img2img: z.boolean().default(false) })
  .strict()
  .refine(hasSize, SIZE_REQUIRED);
export type FinalShape = z.infer<typeof FinalShapeSchema>;

export const EstimateResultSchema = z.object({
  estimate: CostEstimateSchema,
  /** "$0.04", "$0.02–$0.05" or "price unknown", as every surface prints it. */
  text: z.string(),
  /** Spending this much (upper bound) needs a confirmation, by the `finals.confirmAboveUsd` setting; unknown prices always do. */
  needsConfirmation: z.boolean(),
});
export type EstimateResult = z.infer<typeof EstimateResultSchema>;

/** A cloud final as the user asks for it, with the confirmations it needed (never a key). */
export const FinalSubmitSchema = FinalFieldsSchema.extend({
  /** Image-to-image from a stored image (the preview being escalated). */
  initImageId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  strength: z.number().min(0).max(1).optional(),
  /** The upper bound the user saw and accepted, when it was over the confirmation threshold. */
  confirmedAboveUsd: z.number().nonnegative().optional(),
  /** For a model without a listed price: the most the user agrees to pay. */
  confirmUnknownPriceMaxUsd: z.number().positive().optional(),
  /** A request without a seed is served from the cache only when the user says any image will do. */
  allowCachedRandomSeed: z.boolean().optional(),
})
  .strict()
  .refine(hasSize, SIZE_REQUIRED);
export type FinalSubmit = z.input<typeof FinalSubmitSchema>;

export const FinalJobViewSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  provider: ProviderIdSchema,
  model: z.string(),
  prompt: z.string(),
  status: z.enum(['queued', 'reserving', 'submitting', 'accepted', 'succeeded', 'failed', 'cancelled', 'unknown-submission']),
  estimateText: z.string(),
  actualUsd: z.number().nullable(),
  actualSource: z.string().nullable(),
  cacheSavedUsd: z.number().nullable(),
  imageIds: z.array(z.string()),
  initImageId: z.string().nullable(),
  /** "cached — saved $0.040", a rate-limit wait, what an unknown submission means. */
  message: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).nullable(),
});
export type FinalJobView = z.infer<typeof FinalJobViewSchema>;

export const NearMatchSchema = z.object({
  id: z.string(),
  similarity: z.number(),
  prompt: z.string(),
  provider: z.string(),
  model: z.string(),
  size: z.string().nullable(),
  imageIds: z.array(z.string()),
  savedUsd: z.number(),
  /** "a 0.97 match from Tuesday, $0.040 saved if you use it". */
  message: z.string(),
});

export const NearMatchesSchema = z.object({
  /** False when no local model is installed to embed prompts with; `reason` says so. */
  available: z.boolean(),
  reason: z.string().nullable(),
  matches: z.array(NearMatchSchema),
});
