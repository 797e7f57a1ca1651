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

/** The shape of a final request, enough to price it; the same fields the generate call takes. */
export const FinalShapeSchema = z
  .object({
    provider: ProviderIdSchema,
    model: z.string().min(1),
    prompt: z.string().default(''),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    aspectRatio: z.string().regex(/^\d+:\d+$/).optional(),
    n: z.number().int().min(1).max(16).default(1),
    quality: z.string().optional(),
    img2img: z.boolean().default(false),
  })
  .strict()
  .refine((r) => (r.width !== undefined && r.height !== undefined) || r.aspectRatio !== undefined, {
    message: 'give width and height, or an aspect ratio',
  });
export type FinalShape = z.infer<typeof FinalShapeSchema>;

export const EstimateResultSchema = z.object({
  estimate: CostEstimateSchema,
  /** "$0.04", "$0.02–$0.05" or "price unknown", as every surface prints it. */
  text: z.string(),
  /** Spending this much (upper bound) needs a confirmation, by the `finals.confirmAboveUsd` setting; unknown prices always do. */
  needsConfirmation: z.boolean(),
});
export type EstimateResult = z.infer<typeof EstimateResultSchema>;
