import { z } from 'zod';

/** What made an image: kept with it in the store and embedded in exported PNGs. */
export const GenerationParametersSchema = z.object({
  prompt: z.string(),
  negativePrompt: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
  steps: z.number().int().positive().optional(),
  guidanceScale: z.number().optional(),
  scheduler: z.string().optional(),
  /** Anything else that shaped the pixels (quality, style, strength…), under the provider's name. */
  extra: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type GenerationParameters = z.infer<typeof GenerationParametersSchema>;

export const ImageIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'An image id is the 64-character sha256 of the image.');

export const GalleryItemSchema = z.object({
  id: ImageIdSchema,
  source: z.enum(['local-preview', 'cloud-final', 'import']),
  width: z.number().int(),
  height: z.number().int(),
  createdAt: z.string(),
  parameters: GenerationParametersSchema.nullable(),
  /** A small WebP as a data: URL, so the sandboxed page needs no file access. */
  thumbnail: z.string(),
});
export type GalleryItem = z.infer<typeof GalleryItemSchema>;

export const ExportFormatSchema = z.enum(['png', 'webp', 'avif']);
