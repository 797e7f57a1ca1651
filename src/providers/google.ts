import { z } from 'zod';
import { nearestAspectRatio, requestedPixels } from './geometry.js';
import { requestJson, type Dialect } from './http.js';
import { imageFromBase64, toBase64 } from './images.js';
import { nothingToPoll, prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost, type PricedShape } from './pricing.js';
import { ProviderError } from './provider-error.js';
import type { GenerateRequest, ImageProvider, ModelInfo, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * Google Gemini API (reference §7). The Gemini image models (`:generateContent`) are current; Imagen
 * (`:predict`) was shut down on the Gemini API on 2026-08-17 and is kept only for configurations that
 * still reach it — a 404 naming the model comes back as `model_invalid`.
 */

const info: ProviderInfo = {
  id: 'google',
  displayName: 'Google Gemini',
  keyRequired: true,
  keyHelpUrl: 'https://aistudio.google.com/apikey',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  officialApi: true,
  note: 'Imagen 4 was shut down on the Gemini API (2026-08-17); use gemini-3.1-flash-image or gemini-3-pro-image.',
};

const RATIOS = ['1:1', '3:4', '4:3', '9:16', '16:9'] as const;
const IMAGE_SIZES = ['1K', '2K', '4K'] as const;
const gemini = { aspectRatios: RATIOS, maxImagesPerCall: 1, seed: false, negativePrompt: false, img2img: true } as const;
const imagen = { aspectRatios: RATIOS, maxImagesPerCall: 4, seed: false, negativePrompt: false, img2img: false } as const;
const imagenRetired = { status: 'retired', shutdownOn: '2026-08-17' } as const;

const MODELS: readonly ModelInfo[] = [
  { id: 'gemini-3.1-flash-image', displayName: 'Gemini 3.1 Flash Image (Nano Banana 2)', capabilities: { ...gemini, qualities: IMAGE_SIZES }, lifecycle: { status: 'current' } },
  { id: 'gemini-3-pro-image', displayName: 'Gemini 3 Pro Image (Nano Banana Pro)', capabilities: { ...gemini, qualities: IMAGE_SIZES }, lifecycle: { status: 'current' } },
  {
    id: 'gemini-2.5-flash-image',
    displayName: 'Gemini 2.5 Flash Image (Nano Banana)',
    capabilities: gemini,
    lifecycle: { status: 'deprecated', shutdownOn: '2026-10', replacement: 'gemini-3.1-flash-image' },
  },
  { id: 'imagen-4.0-fast-generate-001', displayName: 'Imagen 4 Fast', capabilities: imagen, lifecycle: { ...imagenRetired, replacement: 'gemini-3.1-flash-image' } },
  { id: 'imagen-4.0-generate-001', displayName: 'Imagen 4', capabilities: imagen, lifecycle: { ...imagenRetired, replacement: 'gemini-3.1-flash-image' } },
  { id: 'imagen-4.0-ultra-generate-001', displayName: 'Imagen 4 Ultra', capabilities: imagen, lifecycle: { ...imagenRetired, replacement: 'gemini-3-pro-image' } },
];

const isImagen = (model: string): boolean => model.startsWith('imagen-');

const ErrorBody = z.object({
  error: z.object({
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(z.object({ reason: z.string().optional(), retryDelay: z.string().optional() }).loose()).optional(),
  }),
});

const dialect: Dialect = {
  provider: 'google',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const details = parsed.data.error.details ?? [];
    const delay = details.map((d) => d.retryDelay).find((d) => d !== undefined);
    const reason = details.map((d) => d.reason).find((r) => r !== undefined);
    const seconds = delay ? Number.parseFloat(delay) : Number.NaN;
    return {
      message: parsed.data.error.message,
      code: reason ?? parsed.data.error.status,
      retryAfterMs: Number.isFinite(seconds) ? Math.ceil(seconds * 1000) : undefined,
    };
  },
  special(status, detail) {
    // The Gemini API answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401.
    if (status === 400 && (detail.code === 'API_KEY_INVALID' || /api key not valid/i.test(detail.message ?? ''))) {
      return { code: 'key_rejected', message: `Google rejected the API key (HTTP 400): ${detail.message ?? 'API_KEY_INVALID'}`, hint: 'Check the key with `imagebench keys test google`.' };
    }
    return undefined;
  },
};

const InlineData = z.object({ mimeType: z.string(), data: z.string() });
const GenerateContent = z.object({
  candidates: z
    .array(
      z.object({
        content: z.object({ parts: z.array(z.object({ text: z.string().optional(), inlineData: InlineData.optional() })).optional() }).optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z
    .object({
      promptTokenCount: z.number().optional(),
      candidatesTokenCount: z.number().optional(),
      candidatesTokensDetails: z.array(z.object({ modality: z.string(), tokenCount: z.number().optional() })).optional(),
    })
    .optional(),
});
const Predict = z.object({ predictions: z.array(z.object({ bytesBase64Encoded: z.string(), mimeType: z.string().optional() })).optional() });

/** `1K` for up to 1024 px on the long edge, `2K` up to 2048, else `4K` — unless the quality names one. */
function imageSize(req: GenerateRequest): string {
  if (req.quality && IMAGE_SIZES.some((size) => size === req.quality)) return req.quality;
  const longEdge = Math.max(req.width ?? 0, req.height ?? 0) || Math.sqrt(requestedPixels(req));
  return longEdge <= 1024 ? '1K' : longEdge <= 2048 ? '2K' : '4K';
}

function pricedShape(req: GenerateRequest): PricedShape {
  return isImagen(req.model) || req.model === 'gemini-2.5-flash-image' ? {} : { size: imageSize(req) };
}

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ 'x-goog-api-key': requireKey(info, ctx), 'content-type': 'application/json' });

function refusal(message: string): ProviderError {
  return new ProviderError('google', 'moderation', message, { hint: 'Rephrase the prompt or change the input image; safety refusals are not retried.' });
}

async function generateWithGemini(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  const parts: unknown[] = [{ text: req.prompt }];
  if (req.initImage) parts.push({ inlineData: { mimeType: req.initImage.mime, data: toBase64(req.initImage.bytes) } });
  const imageConfig: Record<string, string> = { aspectRatio: nearestAspectRatio(req, RATIOS) };
  if (req.model !== 'gemini-2.5-flash-image') imageConfig.imageSize = imageSize(req);
  const body = { ...req.providerOptions, contents: [{ parts }], generationConfig: { responseModalities: ['IMAGE'], imageConfig } };
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/models/${req.model}:generateContent`,
    { method: 'POST', headers: authHeaders(ctx), body: JSON.stringify(body) },
    GenerateContent,
    'generateContent response',
    { idempotent: false, model: req.model, rule: (e) => e.retryable },
  );
  const candidate = data.candidates?.[0];
  const images = (candidate?.content?.parts ?? [])
    .flatMap((p) => (p.inlineData ? [p.inlineData] : []))
    .map((d) => imageFromBase64(dialect, d.data, 'inlineData image'));
  if (images.length === 0) {
    const blocked = data.promptFeedback?.blockReason;
    if (blocked) throw refusal(`Google Gemini blocked the prompt (${blocked}).`);
    const finish = candidate?.finishReason ?? 'no finish reason';
    if (/SAFETY|PROHIBITED|BLOCKLIST|NO_IMAGE/.test(finish)) throw refusal(`Google Gemini returned no image (finish reason ${finish}).`);
    throw new ProviderError('google', 'provider_error', `Gemini returned no image (finish reason ${finish}).`, { hint: 'Try again, or rephrase the prompt so it asks for an image.' });
  }
  const usage = data.usageMetadata;
  const imageTokens = usage?.candidatesTokensDetails?.find((d) => d.modality === 'IMAGE')?.tokenCount;
  const reported = imageTokens !== undefined ? ({ kind: 'tokens', textInput: usage?.promptTokenCount, imageOutput: imageTokens } as const) : undefined;
  return {
    kind: 'done',
    images,
    actualCost: actualCost('google', req.model, { images: images.length, shape: pricedShape(req), reported }),
    usage: usage ? { promptTokenCount: usage.promptTokenCount ?? 0, candidatesTokenCount: usage.candidatesTokenCount ?? 0 } : undefined,
  };
}

async function generateWithImagen(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  const body = {
    instances: [{ prompt: req.prompt }],
    parameters: { ...req.providerOptions, sampleCount: req.n, aspectRatio: nearestAspectRatio(req, RATIOS) },
  };
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/models/${req.model}:predict`,
    { method: 'POST', headers: authHeaders(ctx), body: JSON.stringify(body) },
    Predict,
    'predict response',
    { idempotent: false, model: req.model, rule: (e) => e.retryable },
  );
  // Filtered images are simply missing from `predictions`.
  const images = (data.predictions ?? []).map((p) => imageFromBase64(dialect, p.bytesBase64Encoded, 'Imagen prediction'));
  if (images.length === 0) throw refusal('Google Imagen filtered every image it generated for this prompt.');
  return { kind: 'done', images, actualCost: actualCost('google', req.model, { images: images.length }) };
}

export const googleProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('google', req.model, req, pricedShape(req)),
  async submit(req, ctx) {
    prepareRequest(info, MODELS, req);
    return isImagen(req.model) ? generateWithImagen(req, ctx) : generateWithGemini(req, ctx);
  },
  poll: (job) => nothingToPoll(dialect, job),
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/models?pageSize=1`, () => authHeaders(ctx)),
};
