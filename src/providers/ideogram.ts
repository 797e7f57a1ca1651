import { z } from 'zod';
import { nearestAspectRatio } from './geometry.js';
import { requestJson, type Dialect } from './http.js';
import { downloadImage } from './images.js';
import { nothingToPoll, prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { ProviderError } from './provider-error.js';
import type { GenerateRequest, ImageProvider, ModelInfo, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * Ideogram 3.0 (reference §6): synchronous multipart with `Api-Key` auth; result links expire after
 * 24 h and are downloaded at once. The tier (`rendering_speed`) is the request's quality.
 */

const info: ProviderInfo = {
  id: 'ideogram',
  displayName: 'Ideogram',
  keyRequired: true,
  keyHelpUrl: 'https://developer.ideogram.ai/ideogram-api/quickstart',
  defaultBaseUrl: 'https://api.ideogram.ai',
  officialApi: true,
};

const RATIOS = ['1x3', '3x1', '1x2', '2x1', '9x16', '16x9', '10x16', '16x10', '2x3', '3x2', '3x4', '4x3', '4x5', '5x4', '1x1'] as const;
const TIERS = ['TURBO', 'DEFAULT', 'QUALITY'] as const;
const DEFAULT_TIER = 'DEFAULT';

const MODELS: readonly ModelInfo[] = [
  {
    id: 'ideogram-v3',
    displayName: 'Ideogram 3.0',
    capabilities: {
      aspectRatios: RATIOS.map((r) => r.replace('x', ':')),
      maxImagesPerCall: 8,
      seed: true,
      negativePrompt: true,
      img2img: false,
      styles: ['AUTO', 'GENERAL', 'REALISTIC', 'DESIGN', 'FICTION'],
      qualities: TIERS,
    },
    lifecycle: { status: 'current' },
  },
];

const ErrorBody = z.object({ error: z.string().optional(), detail: z.unknown().optional(), reject_reason: z.string().optional() });

const dialect: Dialect = {
  provider: 'ideogram',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    const detail = parsed.data.detail;
    return { message: parsed.data.error ?? (typeof detail === 'string' ? detail : undefined), code: parsed.data.reject_reason };
  },
  special(status, detail) {
    if (status === 422 && /safety/i.test(detail.message ?? '')) {
      return { code: 'moderation', message: `Ideogram's safety check refused the request: ${detail.message}`, hint: 'Rephrase the prompt; this is not retried.' };
    }
    if (status === 402) {
      return {
        code: 'provider_error',
        message: `Ideogram refused for billing (${detail.code ?? 'HTTP 402'}): ${detail.message ?? 'payment required'}`,
        hint: detail.code === 'daily_limit' ? 'The daily spending limit is reached; raise it or wait.' : 'Top up the Ideogram API balance; this is not retried.',
      };
    }
    if (status === 429) {
      return {
        code: 'rate_limited',
        message: `Ideogram has too many images in progress for this organization (10 by default): ${detail.message ?? detail.code ?? 'HTTP 429'}`,
        retryable: true,
      };
    }
    return undefined;
  },
};

const Generated = z.object({
  data: z.array(z.object({ url: z.string().nullish(), seed: z.number().optional(), is_image_safe: z.boolean().optional() })),
});

function tierOf(req: GenerateRequest): string {
  return req.quality ?? DEFAULT_TIER;
}

function buildForm(req: GenerateRequest): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(req.providerOptions ?? {})) form.append(name, String(value));
  form.set('prompt', req.prompt);
  form.set('rendering_speed', tierOf(req));
  form.set('aspect_ratio', nearestAspectRatio(req, RATIOS));
  form.set('num_images', String(req.n));
  if (req.seed !== undefined) form.set('seed', String(req.seed));
  if (req.negativePrompt) form.set('negative_prompt', req.negativePrompt);
  return form;
}

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ 'api-key': requireKey(info, ctx) });

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const { data, response } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/v1/ideogram-v3/generate`,
    { method: 'POST', headers: authHeaders(ctx), body: buildForm(req) },
    Generated,
    'generation',
    { idempotent: false, model: req.model, rule: (e) => e.retryable },
  );
  const requestId = response.headers.get('x-request-id') ?? undefined;
  const safe = data.data.filter((d) => d.is_image_safe !== false && d.url);
  const cost = actualCost('ideogram', req.model, { images: data.data.length, shape: { quality: tierOf(req) } });
  if (safe.length === 0) {
    throw new ProviderError('ideogram', 'moderation', 'Ideogram marked every generated image unsafe (is_image_safe: false) and sent no link.', {
      hint: 'Rephrase the prompt; this is not retried.',
      requestId,
      actualCost: cost,
    });
  }
  const images = await Promise.all(safe.map((d) => downloadImage(dialect, ctx, d.url ?? '', d.seed)));
  return { kind: 'done', images, actualCost: cost, requestId };
}

export const ideogramProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('ideogram', req.model, req, { quality: tierOf(req) }),
  submit,
  poll: (job) => nothingToPoll(dialect, job),
  // No free account endpoint is documented. A generate call with no prompt is refused by validation
  // (400/422) after the key is checked, so it proves the key without making an image.
  verifyKey: (ctx) =>
    verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/v1/ideogram-v3/generate`, () => authHeaders(ctx), {
      method: 'POST',
      body: () => new FormData(),
      acceptedStatuses: [400, 422],
    }),
};
