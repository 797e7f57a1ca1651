import { z } from 'zod';
import { AppError } from '../../contract/errors.js';
import { FinalFieldsSchema, hasSize, SIZE_REQUIRED } from '../../contract/finals.js';
import type { GenerateRequest } from '../../providers/types.js';
import type { CacheableRequest, JsonValue } from '../cache/canonical-request.js';
import type { GenerationParameters } from '../images/generation-parameters.js';

const JsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValueSchema), z.record(z.string(), JsonValueSchema)]),
);

/** Field names that hold secrets; the request is stored as JSON, so they are refused outright. */
const CREDENTIAL_NAME = /api[_-]?key|(secret|password|token|authorization|credentials?)$/i;

function credentialPath(value: JsonValue | undefined, path = ''): string | null {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  for (const [name, child] of Array.isArray(value) ? value.map((v, i): [string, JsonValue] => [String(i), v]) : Object.entries(value)) {
    if (!Array.isArray(value) && CREDENTIAL_NAME.test(name)) return `${path}${name}`;
    const found = credentialPath(child, `${path}${name}.`);
    if (found) return found;
  }
  return null;
}

/**
 * A final as the app asks for it and as the job row stores it: plain JSON, so it can be written
 * before anything is sent and read back after a crash. It never holds a key, and an init image is
 * named by its image-store id (its sha256) instead of carried inline.
 */
export const FinalRequestSchema = FinalFieldsSchema.extend({
  initImage: z.object({ imageId: z.string().regex(/^[0-9a-f]{64}$/), strength: z.number().min(0).max(1).optional() }).strict().optional(),
  providerOptions: z
    .record(z.string(), JsonValueSchema)
    .optional()
    .refine((options) => credentialPath(options) === null, {
      message: 'provider options must not carry a key or other credential; keys are read from the keychain for each request',
    }),
  /** Budgets can be per project. */
  project: z.string().min(1).optional(),
})
  .strict()
  .refine(hasSize, SIZE_REQUIRED);
export type FinalRequest = z.infer<typeof FinalRequestSchema>;
export type FinalRequestInput = z.input<typeof FinalRequestSchema>;

/** Parses a request from outside (or from a job row); never casts. */
export function parseFinalRequest(input: unknown): FinalRequest {
  const parsed = FinalRequestSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new AppError('invalid_input', `The final request is invalid: ${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'bad shape'}.`, {
    hint: 'Give a provider, a model, a prompt, and either width and height or an aspect ratio.',
  });
}

/** Pricing looks only at whether an input image exists, never at its bytes. */
const PLACEHOLDER_INIT_BYTES = new Uint8Array(1);

/** The provider-facing request; `initBytes` are read from the image store right before sending. */
export function toGenerateRequest(req: FinalRequest, init?: { bytes: Uint8Array<ArrayBuffer>; mime: string }): GenerateRequest {
  const out: GenerateRequest = { model: req.model, prompt: req.prompt, n: req.n };
  if (req.negativePrompt !== undefined) out.negativePrompt = req.negativePrompt;
  if (req.width !== undefined) out.width = req.width;
  if (req.height !== undefined) out.height = req.height;
  if (req.aspectRatio !== undefined) out.aspectRatio = req.aspectRatio;
  if (req.seed !== undefined) out.seed = req.seed;
  if (req.quality !== undefined) out.quality = req.quality;
  if (req.providerOptions !== undefined) out.providerOptions = req.providerOptions;
  if (req.initImage) {
    const { strength } = req.initImage;
    out.initImage = { bytes: init?.bytes ?? PLACEHOLDER_INIT_BYTES, mime: init?.mime ?? 'image/png', ...(strength !== undefined ? { strength } : {}) };
  }
  return out;
}

/** Everything that changes the pixels, for the exact cache; the image-store id is the init image's sha256. */
export function toCacheable(req: FinalRequest): CacheableRequest {
  const params: Record<string, JsonValue> = {};
  if (req.quality !== undefined) params.quality = req.quality;
  if (req.initImage?.strength !== undefined) params.strength = req.initImage.strength;
  if (req.providerOptions !== undefined) params.providerOptions = req.providerOptions;
  return {
    provider: req.provider,
    model: req.model,
    prompt: req.prompt,
    negativePrompt: req.negativePrompt,
    width: req.width,
    height: req.height,
    aspectRatio: req.aspectRatio,
    seed: req.seed,
    imageCount: req.n,
    initImageSha256: req.initImage?.imageId,
    params,
  };
}

/** What made a final, stored with it and embedded in its PNG (A1111 text and our JSON). */
export function toParameters(req: FinalRequest, seed: number | undefined): GenerationParameters {
  const extra: Record<string, string | number | boolean> = {};
  if (req.quality !== undefined) extra.Quality = req.quality;
  if (req.aspectRatio !== undefined) extra['Aspect ratio'] = req.aspectRatio;
  if (req.initImage) {
    extra['Init image'] = req.initImage.imageId;
    if (req.initImage.strength !== undefined) extra['Denoising strength'] = req.initImage.strength;
  }
  if (req.providerOptions !== undefined) extra['Provider options'] = JSON.stringify(req.providerOptions);
  const params: GenerationParameters = { prompt: req.prompt, provider: req.provider, model: req.model };
  if (req.negativePrompt !== undefined) params.negativePrompt = req.negativePrompt;
  if (req.width !== undefined) params.width = req.width;
  if (req.height !== undefined) params.height = req.height;
  const usedSeed = seed ?? req.seed;
  if (usedSeed !== undefined) params.seed = usedSeed;
  if (Object.keys(extra).length > 0) params.extra = extra;
  return params;
}
