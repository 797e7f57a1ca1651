import { z } from 'zod';
import { nearestAspectRatio, snapDimensions } from './geometry.js';
import { assertKeySafeUrl, describeDetail, requestJson, send, type Dialect } from './http.js';
import { downloadImage } from './images.js';
import { prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost, type PricedShape } from './pricing.js';
import { ProviderError } from './provider-error.js';
import { retryWhenRetryable, withRetry } from './retry.js';
import type { GenerateRequest, ImageProvider, ModelInfo, PendingJob, PollResult, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * fal.ai queue API (reference §4): `Key` auth, submit → status → result, cost from the
 * `x-fal-billable-units` header. fal never charges for a 5xx, so a submit that got one may be re-sent.
 */

const info: ProviderInfo = {
  id: 'fal',
  displayName: 'fal.ai',
  keyRequired: true,
  keyHelpUrl: 'https://fal.ai/dashboard/keys',
  defaultBaseUrl: 'https://queue.fal.run',
  officialApi: true,
};

const ULTRA_RATIOS = ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'] as const;
const flux = { maxImagesPerCall: 4, seed: true, negativePrompt: false, img2img: false } as const;

const MODELS: readonly ModelInfo[] = [
  { id: 'fal-ai/flux/schnell', displayName: 'FLUX.1 [schnell]', capabilities: flux, lifecycle: { status: 'current' } },
  { id: 'fal-ai/flux/dev', displayName: 'FLUX.1 [dev]', capabilities: flux, lifecycle: { status: 'current' } },
  { id: 'fal-ai/flux-pro/v1.1', displayName: 'FLUX1.1 [pro]', capabilities: flux, lifecycle: { status: 'current' } },
  {
    id: 'fal-ai/flux-pro/v1.1-ultra',
    displayName: 'FLUX1.1 [pro] ultra',
    capabilities: { ...flux, aspectRatios: ULTRA_RATIOS, maxImagesPerCall: 1 },
    lifecycle: { status: 'current' },
  },
];

const isUltra = (model: string): boolean => model.endsWith('-ultra');

const ErrorBody = z.object({ detail: z.unknown().optional(), message: z.string().optional() });

const dialect: Dialect = {
  provider: 'fal',
  displayName: info.displayName,
  requestIdHeader: 'x-fal-request-id',
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    return { message: describeDetail(parsed.data.detail) ?? parsed.data.message };
  },
  special(status, detail, headers) {
    if (status === 504 && headers.get('x-fal-request-timeout-type') === 'user') {
      return { code: 'provider_error', message: `fal stopped the request at the timeout it was given: ${detail.message ?? 'HTTP 504'}`, hint: 'Raise the timeout; this is not retried.' };
    }
    return undefined;
  },
};

const Submitted = z.object({
  request_id: z.string(),
  status_url: z.string(),
  response_url: z.string(),
  cancel_url: z.string().optional(),
});
const Status = z.object({ status: z.enum(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELED']), queue_position: z.number().optional() });
const Result = z.object({
  images: z.array(z.object({ url: z.string(), content_type: z.string().optional() })),
  seed: z.number().optional(),
  has_nsfw_concepts: z.array(z.boolean()).optional(),
});

function buildInput(req: GenerateRequest): Record<string, unknown> {
  const input: Record<string, unknown> = { ...req.providerOptions, prompt: req.prompt, num_images: req.n, output_format: 'png', enable_safety_checker: true };
  if (isUltra(req.model)) input.aspect_ratio = nearestAspectRatio(req, ULTRA_RATIOS);
  else input.image_size = snapDimensions(req, { step: 16, min: 256, max: 2048 });
  if (req.seed !== undefined) input.seed = req.seed;
  return input;
}

function pricedShape(req: GenerateRequest): PricedShape {
  if (isUltra(req.model)) return {};
  const { width, height } = snapDimensions(req, { step: 16, min: 256, max: 2048 });
  return { pixels: width * height };
}

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ authorization: `Key ${requireKey(info, ctx)}` });

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/${req.model}`,
    { method: 'POST', headers: { ...authHeaders(ctx), 'content-type': 'application/json' }, body: JSON.stringify(buildInput(req)) },
    Submitted,
    'queue submission',
    { idempotent: false, model: req.model, rule: retryWhenRetryable },
  );
  const shape = pricedShape(req);
  return {
    kind: 'pending',
    model: req.model,
    providerJobId: data.request_id,
    pollUrl: data.status_url,
    memo: { responseUrl: data.response_url, ...(data.cancel_url ? { cancelUrl: data.cancel_url } : {}), ...(shape.pixels ? { pixels: shape.pixels } : {}) },
  };
}

async function fetchResult(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const responseUrl = typeof job.memo.responseUrl === 'string' ? job.memo.responseUrl : `${ctx.baseUrl}/${job.model}/requests/${job.providerJobId}`;
  const { data, response } = await requestJson(
    dialect,
    ctx,
    assertKeySafeUrl(dialect, ctx.baseUrl, responseUrl),
    { method: 'GET', headers: authHeaders(ctx) },
    Result,
    'result',
    { idempotent: true },
  );
  const units = Number(response.headers.get('x-fal-billable-units'));
  const reported = response.headers.has('x-fal-billable-units') && Number.isFinite(units) ? ({ kind: 'billable-units', units } as const) : undefined;
  const pixels = typeof job.memo.pixels === 'number' ? job.memo.pixels : undefined;
  const flagged = data.has_nsfw_concepts ?? [];
  const safe = data.images.filter((_, i) => flagged[i] !== true);
  const cost = actualCost('fal', job.model, { images: data.images.length, reported, shape: { pixels } });
  if (safe.length === 0) {
    return {
      kind: 'failed',
      error: new ProviderError('fal', 'moderation', "fal.ai's safety checker flagged every image in this result (has_nsfw_concepts).", {
        hint: 'Rephrase the prompt; flagged results are not retried.',
        requestId: response.headers.get('x-fal-request-id') ?? undefined,
        actualCost: cost,
      }),
    };
  }
  const images = await Promise.all(safe.map((img) => downloadImage(dialect, ctx, img.url, data.seed)));
  return {
    kind: 'done',
    images,
    actualCost: cost,
    usage: reported ? { billable_units: reported.units } : undefined,
    requestId: response.headers.get('x-fal-request-id') ?? undefined,
  };
}

async function poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const statusUrl = job.pollUrl ?? `${ctx.baseUrl}/${job.model}/requests/${job.providerJobId}/status`;
  const { data } = await requestJson(dialect, ctx, assertKeySafeUrl(dialect, ctx.baseUrl, statusUrl), { method: 'GET', headers: authHeaders(ctx) }, Status, 'status', {
    idempotent: true,
  });
  if (data.status === 'IN_QUEUE' || data.status === 'IN_PROGRESS') return job;
  if (data.status === 'FAILED' || data.status === 'CANCELED') {
    return { kind: 'failed', error: new ProviderError('fal', data.status === 'CANCELED' ? 'cancelled' : 'provider_error', `fal request ${job.providerJobId} ended ${data.status}.`) };
  }
  // COMPLETED does not mean success: the result body says.
  return fetchResult(job, ctx);
}

async function cancel(job: PendingJob, ctx: ProviderContext): Promise<void> {
  const url = typeof job.memo.cancelUrl === 'string' ? job.memo.cancelUrl : `${ctx.baseUrl}/${job.model}/requests/${job.providerJobId}/cancel`;
  await withRetry(() => send(dialect, ctx, assertKeySafeUrl(dialect, ctx.baseUrl, url), { method: 'PUT', headers: authHeaders(ctx) }, { idempotent: true }), {
    ...ctx.retry,
    signal: ctx.signal,
  });
}

/** The pricing API lives on api.fal.ai; a non-default base URL (proxy, test) serves it itself. */
function platformUrl(baseUrl: string): string {
  return new URL(baseUrl).hostname === 'queue.fal.run' ? 'https://api.fal.ai' : baseUrl;
}

export const falProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('fal', req.model, req, pricedShape(req)),
  submit,
  poll,
  cancel,
  verifyKey: (ctx) =>
    verifyKeyWith(dialect, ctx, `${platformUrl(ctx.baseUrl)}/v1/models/pricing?endpoint_id=fal-ai/flux/schnell`, () => authHeaders(ctx)),
};
