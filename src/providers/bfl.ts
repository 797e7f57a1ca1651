import { z } from 'zod';
import { nearestAspectRatio, snapDimensions } from './geometry.js';
import { assertKeySafeUrl, describeDetail, requestJson, type Dialect } from './http.js';
import { downloadImage, toBase64 } from './images.js';
import { prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost, type PricedShape } from './pricing.js';
import { ProviderError } from './provider-error.js';
import type { GenerateRequest, ImageProvider, ModelInfo, PendingJob, PollResult, ProviderContext, ProviderInfo, SubmitResult } from './types.js';

/**
 * Black Forest Labs API (reference §5): always async, `x-key` auth, poll the returned `polling_url`
 * (it may name a region), download `result.sample` within 10 minutes. The submit answer carries
 * `cost` in credits (= US cents): the provider's own charge.
 */

const info: ProviderInfo = {
  id: 'bfl',
  displayName: 'Black Forest Labs',
  keyRequired: true,
  keyHelpUrl: 'https://docs.bfl.ai/quick_start/pricing',
  defaultBaseUrl: 'https://api.bfl.ai',
  officialApi: true,
};

const ULTRA_RATIOS = ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'] as const;
const one = { maxImagesPerCall: 1, seed: true, negativePrompt: false } as const;

interface Geometry {
  kind: 'size' | 'ratio';
  step: number;
  min: number;
  max: number;
}
const FLUX2: Geometry = { kind: 'size', step: 16, min: 256, max: 2048 };
const FLUX1: Geometry = { kind: 'size', step: 32, min: 256, max: 1440 };
const RATIO: Geometry = { kind: 'ratio', step: 1, min: 0, max: 0 };

const MODELS: ReadonlyArray<ModelInfo & { geometry: Geometry }> = [
  { id: 'flux-2-pro', displayName: 'FLUX.2 [pro]', capabilities: { ...one, img2img: true }, lifecycle: { status: 'current' }, geometry: FLUX2 },
  { id: 'flux-2-max', displayName: 'FLUX.2 [max]', capabilities: { ...one, img2img: true }, lifecycle: { status: 'current' }, geometry: FLUX2 },
  { id: 'flux-2-klein-4b', displayName: 'FLUX.2 [klein] 4B', capabilities: { ...one, img2img: true }, lifecycle: { status: 'current' }, geometry: FLUX2 },
  { id: 'flux-pro-1.1', displayName: 'FLUX1.1 [pro]', capabilities: { ...one, img2img: false }, lifecycle: { status: 'legacy', replacement: 'flux-2-pro' }, geometry: FLUX1 },
  {
    id: 'flux-pro-1.1-ultra',
    displayName: 'FLUX1.1 [pro] Ultra',
    capabilities: { ...one, img2img: false, aspectRatios: ULTRA_RATIOS },
    lifecycle: { status: 'legacy', replacement: 'flux-2-max' },
    geometry: RATIO,
  },
  { id: 'flux-dev', displayName: 'FLUX.1 [dev]', capabilities: { ...one, img2img: false }, lifecycle: { status: 'legacy', replacement: 'flux-2-klein-4b' }, geometry: FLUX1 },
];

const ErrorBody = z.object({ detail: z.unknown().optional(), message: z.string().optional() });

const dialect: Dialect = {
  provider: 'bfl',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    return { message: describeDetail(parsed.data.detail) ?? parsed.data.message };
  },
  special(status, detail) {
    if (status === 402) {
      return {
        code: 'provider_error',
        message: `Black Forest Labs says the account has too few credits: ${detail.message ?? 'HTTP 402'}`,
        hint: 'Buy credits in the BFL dashboard; this is not retried.',
      };
    }
    if (status === 429) {
      return {
        code: 'rate_limited',
        message: `Black Forest Labs has too many active tasks for this key (24, or 6 for Kontext Max): ${detail.message ?? 'HTTP 429'}`,
        retryable: true,
      };
    }
    return undefined;
  },
};

const Submitted = z.object({
  id: z.string(),
  polling_url: z.string(),
  cost: z.number().optional(),
  input_mp: z.number().optional(),
  output_mp: z.number().optional(),
});
const Polled = z.object({
  status: z.string(),
  result: z.object({ sample: z.string().optional(), seed: z.number().optional() }).nullish(),
  progress: z.number().nullish(),
});

function geometryOf(model: string): Geometry {
  return MODELS.find((m) => m.id === model)?.geometry ?? FLUX2;
}

function pricedShape(req: GenerateRequest): PricedShape {
  const geometry = geometryOf(req.model);
  if (geometry.kind === 'ratio') return {};
  const { width, height } = snapDimensions(req, geometry);
  return { pixels: width * height, inputPixels: req.initImage ? width * height : undefined };
}

function buildBody(req: GenerateRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req.providerOptions, prompt: req.prompt, output_format: 'png' };
  const geometry = geometryOf(req.model);
  if (geometry.kind === 'ratio') body.aspect_ratio = nearestAspectRatio(req, ULTRA_RATIOS);
  else Object.assign(body, snapDimensions(req, geometry));
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.initImage) body.input_image = toBase64(req.initImage.bytes);
  return body;
}

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ 'x-key': requireKey(info, ctx) });

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const { data } = await requestJson(
    dialect,
    ctx,
    `${ctx.baseUrl}/v1/${req.model}`,
    { method: 'POST', headers: { ...authHeaders(ctx), 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(buildBody(req)) },
    Submitted,
    'task submission',
    { idempotent: false, model: req.model },
  );
  const memo: PendingJob['memo'] = {};
  if (data.cost !== undefined) memo.costCredits = data.cost;
  if (data.output_mp !== undefined) memo.outputMp = data.output_mp;
  if (data.input_mp !== undefined) memo.inputMp = data.input_mp;
  const pixels = pricedShape(req).pixels;
  if (pixels !== undefined) memo.pixels = pixels;
  return { kind: 'pending', model: req.model, providerJobId: data.id, pollUrl: assertKeySafeUrl(dialect, ctx.baseUrl, data.polling_url), memo };
}

function moderated(job: PendingJob, status: string): ProviderError {
  const what = status === 'Request Moderated' ? 'the prompt or input image' : 'the generated image';
  return new ProviderError('bfl', 'moderation', `Black Forest Labs moderation blocked ${what} (${status}).`, {
    hint: 'Rephrase the prompt or lower the strictness with providerOptions.safety_tolerance; this is not retried.',
  });
}

async function poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const url = job.pollUrl ? assertKeySafeUrl(dialect, ctx.baseUrl, job.pollUrl) : `${ctx.baseUrl}/v1/get_result?id=${encodeURIComponent(job.providerJobId)}`;
  const { data } = await requestJson(dialect, ctx, url, { method: 'GET', headers: { ...authHeaders(ctx), accept: 'application/json' } }, Polled, 'task status', {
    idempotent: true,
  });
  switch (data.status) {
    case 'Pending':
      return job;
    case 'Request Moderated':
    case 'Content Moderated':
      return { kind: 'failed', error: moderated(job, data.status) };
    case 'Ready': {
      const sample = data.result?.sample;
      if (!sample) return { kind: 'failed', error: new ProviderError('bfl', 'provider_error', `Black Forest Labs task ${job.providerJobId} is Ready but has no result.sample.`) };
      const image = await downloadImage(dialect, ctx, sample, data.result?.seed ?? undefined);
      const credits = typeof job.memo.costCredits === 'number' ? job.memo.costCredits : undefined;
      const pixels = typeof job.memo.pixels === 'number' ? job.memo.pixels : undefined;
      const cost = actualCost('bfl', job.model, {
        images: 1,
        shape: { pixels },
        reported: credits !== undefined ? { kind: 'usd', usd: credits / 100, what: `${credits} credits reported by BFL (1 credit = $0.01)` } : undefined,
      });
      const usage: Record<string, number> = {};
      for (const key of ['costCredits', 'inputMp', 'outputMp'] as const) {
        const v = job.memo[key];
        if (typeof v === 'number') usage[key] = v;
      }
      return { kind: 'done', images: [image], actualCost: cost, usage };
    }
    default:
      // `Error`, `Task not found` and anything newer are terminal for this job.
      return { kind: 'failed', error: new ProviderError('bfl', 'provider_error', `Black Forest Labs task ${job.providerJobId} ended with status "${data.status}".`) };
  }
}

const ProbeResult = z.object({ status: z.string() });

export const bflProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('bfl', req.model, req, pricedShape(req)),
  submit,
  poll,
  // There is no free account endpoint in the reference; polling a made-up task id answers
  // "Task not found" for a good key and 401/403 for a bad one, and costs nothing.
  verifyKey: (ctx) =>
    verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/v1/get_result?id=imagebench-key-check`, () => authHeaders(ctx), {
      acceptedStatuses: [404],
      check: async (res) => {
        const parsed = ProbeResult.safeParse(await res.json().catch(() => undefined));
        return parsed.success ? undefined : 'Black Forest Labs answered the key check with an unexpected body.';
      },
    }),
};
