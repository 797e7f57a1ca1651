import { z } from 'zod';
import { nearestAspectRatio } from './geometry.js';
import { malformed, readBytes, send, type Dialect } from './http.js';
import { imageFromBytes, toBlob } from './images.js';
import { nothingToPoll, prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { ProviderError } from './provider-error.js';
import { withRetry } from './retry.js';
import type { GenerateRequest, ImageProvider, ModelCapabilities, ModelInfo, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/** Stability AI REST v2beta (reference §2): synchronous multipart, raw image bytes back, flat credits per image. */

const info: ProviderInfo = {
  id: 'stability',
  displayName: 'Stability AI',
  keyRequired: true,
  keyHelpUrl: 'https://platform.stability.ai/account/keys',
  defaultBaseUrl: 'https://api.stability.ai',
  officialApi: true,
};

const ASPECT_RATIOS = ['16:9', '1:1', '21:9', '2:3', '3:2', '4:5', '5:4', '9:16', '9:21'] as const;
const STYLES = [
  '3d-model', 'analog-film', 'anime', 'cinematic', 'comic-book', 'digital-art', 'enhance', 'fantasy-art', 'isometric',
  'line-art', 'low-poly', 'modeling-compound', 'neon-punk', 'origami', 'photographic', 'pixel-art', 'tile-texture',
] as const;

function caps(img2img: boolean): ModelCapabilities {
  return { aspectRatios: ASPECT_RATIOS, maxImagesPerCall: 1, seed: true, negativePrompt: true, img2img, styles: STYLES };
}

const MODELS: readonly ModelInfo[] = [
  { id: 'ultra', displayName: 'Stable Image Ultra', capabilities: caps(true), lifecycle: { status: 'current' } },
  { id: 'core', displayName: 'Stable Image Core', capabilities: caps(false), lifecycle: { status: 'current' } },
  { id: 'sd3.5-large', displayName: 'SD 3.5 Large', capabilities: caps(true), lifecycle: { status: 'current' } },
  { id: 'sd3.5-large-turbo', displayName: 'SD 3.5 Large Turbo', capabilities: caps(true), lifecycle: { status: 'current' } },
  { id: 'sd3.5-medium', displayName: 'SD 3.5 Medium', capabilities: caps(true), lifecycle: { status: 'current' } },
  { id: 'sd3.5-flash', displayName: 'SD 3.5 Flash', capabilities: caps(true), lifecycle: { status: 'current' } },
];

const ErrorBody = z.object({ name: z.string().optional(), errors: z.array(z.string()).optional(), message: z.string().optional() });

const dialect: Dialect = {
  provider: 'stability',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    return { code: parsed.data.name, message: parsed.data.errors?.join('; ') ?? parsed.data.message };
  },
  special(status, detail) {
    if (status === 403 && detail.code === 'content_moderation') {
      return {
        code: 'moderation',
        message: `Stability's moderation flagged the prompt or input image: ${detail.message ?? 'content_moderation'}`,
        hint: 'Rephrase the prompt or change the input image; moderation refusals are not retried.',
      };
    }
    if (status === 429) {
      // No rate-limit headers are documented; Stability asks for a back-off of at least 10 s.
      return {
        code: 'rate_limited',
        message: `Stability is rate-limiting requests (150 per 10 s per account): ${detail.message ?? 'HTTP 429'}`,
        retryable: true,
        retryAfterMs: 10_000,
      };
    }
    return undefined;
  },
};

function endpoint(model: string): string {
  if (model === 'ultra' || model === 'core') return `/v2beta/stable-image/generate/${model}`;
  return '/v2beta/stable-image/generate/sd3';
}

function buildForm(req: GenerateRequest): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(req.providerOptions ?? {})) form.append(name, String(value));
  form.set('prompt', req.prompt);
  form.set('output_format', 'png');
  if (req.negativePrompt) form.set('negative_prompt', req.negativePrompt);
  if (req.seed !== undefined) form.set('seed', String(req.seed));
  if (req.model.startsWith('sd3')) form.set('model', req.model);
  if (req.initImage) {
    form.set('image', toBlob(req.initImage.bytes, req.initImage.mime), 'init');
    form.set('strength', String(req.initImage.strength ?? 0.5));
    if (req.model.startsWith('sd3')) form.set('mode', 'image-to-image');
  } else {
    form.set('aspect_ratio', nearestAspectRatio(req, ASPECT_RATIOS));
  }
  return form;
}

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const key = requireKey(info, ctx);
  // Billed per successful generation, so a 5xx answer may be re-sent; a dropped connection is not.
  const res = await withRetry(
    () =>
      send(
        dialect,
        ctx,
        `${ctx.baseUrl}${endpoint(req.model)}`,
        { method: 'POST', headers: { authorization: `Bearer ${key}`, accept: 'image/*' }, body: buildForm(req) },
        { idempotent: false, model: req.model },
      ),
    { ...ctx.retry, signal: ctx.signal },
  );
  const requestId = res.headers.get('x-request-id') ?? undefined;
  const contentType = res.headers.get('content-type') ?? '';
  if (!contentType.startsWith('image/')) {
    throw malformed(dialect, 'image response', `expected image bytes, got content-type "${contentType || 'none'}"`, requestId);
  }
  const seedHeader = Number(res.headers.get('seed'));
  const image = imageFromBytes(dialect, await readBytes(dialect, ctx, res, false), 'image response', Number.isFinite(seedHeader) ? seedHeader : undefined);
  const cost = actualCost('stability', req.model, { images: 1 });
  if (res.headers.get('finish-reason') === 'CONTENT_FILTERED') {
    throw new ProviderError('stability', 'moderation', 'Stability generated the image but its content filter withheld it (finish-reason CONTENT_FILTERED).', {
      hint: 'The credits were spent. Rephrase the prompt; this is not retried.',
      requestId,
      actualCost: cost,
    });
  }
  return { kind: 'done', images: [image], actualCost: cost, requestId };
}

const Balance = z.object({ credits: z.number() });

export const stabilityProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('stability', req.model, req),
  submit,
  poll: (job) => nothingToPoll(dialect, job),
  verifyKey: (ctx) =>
    verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/v1/user/balance`, () => ({ authorization: `Bearer ${requireKey(info, ctx)}` }), {
      check: async (res) => {
        const parsed = Balance.safeParse(await res.json().catch(() => undefined));
        return parsed.success ? undefined : 'Stability answered the balance check with an unexpected body.';
      },
    }),
};
