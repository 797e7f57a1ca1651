import { z } from 'zod';
import { ErrorPayloadSchema } from './errors.js';
import { ImageIdSchema } from './images.js';

const size = z.number().int().min(64).max(2048).multipleOf(8, 'Width and height must be multiples of 8.');

export const PreviewInputSchema = z
  .object({
    /** Omitted: the model chosen in settings, or the only one installed. */
    modelId: z.string().min(1).optional(),
    prompt: z.string().max(4000),
    negativePrompt: z.string().max(4000).optional(),
    /** Omitted: a random seed, reported back so the image can be reproduced. */
    seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    steps: z.number().int().min(1).max(100).optional(),
    width: size.optional(),
    height: size.optional(),
    guidanceScale: z.number().min(0).max(30).optional(),
    scheduler: z.enum(['euler', 'euler-ancestral', 'lcm']).optional(),
    /** Image-to-image from a stored image (a preview being refined, or an import). */
    initImageId: ImageIdSchema.optional(),
    strength: z.number().gt(0).max(1).optional(),
    batchCount: z.number().int().min(1).max(4).default(1),
  })
  .strict();
export type PreviewInput = z.input<typeof PreviewInputSchema>;

export const PreviewResultSchema = z.object({
  requestId: z.string(),
  images: z.array(z.object({ imageId: ImageIdSchema, dataUrl: z.string() })),
  modelId: z.string(),
  family: z.string(),
  seed: z.number().int(),
  steps: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  scheduler: z.string(),
  executionProvider: z.string(),
  /** Why the preferred execution provider was not used (e.g. "CUDA requested but not available … → CPU"). */
  fallbackReason: z.string().nullable(),
  prompt: z.object({ truncated: z.boolean(), cutWords: z.array(z.string()) }),
  timings: z.object({
    loadMs: z.number(),
    tokenizeMs: z.number(),
    textEncodeMs: z.number(),
    unetStepMs: z.array(z.number()),
    vaeDecodeMs: z.number(),
    totalMs: z.number(),
  }),
});
export type PreviewResult = z.infer<typeof PreviewResultSchema>;

export const PreviewProgressSchema = z.object({
  requestId: z.string(),
  step: z.number().int(),
  totalSteps: z.number().int(),
  elapsedMs: z.number(),
  /** The latent decoded cheaply to RGB, as a small PNG data URL (1/8 of the image size). */
  latentPreview: z.string().optional(),
});

export const PreviewFailureSchema = z.object({ requestId: z.string(), error: ErrorPayloadSchema });

export const TokenCountSchema = z.object({
  /** Prompt tokens of the first text encoder, without start/end tokens. */
  tokenCount: z.number().int(),
  maxTokens: z.number().int(),
  truncated: z.boolean(),
  /** Words past the 77-token limit that the model will not see. */
  cutWords: z.array(z.string()),
});
