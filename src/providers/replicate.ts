import { z } from 'zod';
import { nearestAspectRatio, snapDimensions } from './geometry.js';
import { assertKeySafeUrl, describeDetail, requestJson, send, type Dialect } from './http.js';
import { downloadImage, toDataUri } from './images.js';
import { prepareRequest, requireKey, verifyKeyWith } from './kit.js';
import { actualCost, estimateCost } from './pricing.js';
import { ProviderError } from './provider-error.js';
import { withRetry } from './retry.js';
import type {
  GenerateRequest,
  ImageProvider,
  ModelInfo,
  PendingJob,
  PollResult,
  ProviderContext,
  ProviderInfo,
  SubmitResult,
} from './types.js';

/**
 * Replicate (reference §3): `Prefer: wait` holds the create call until the model finishes, else the
 * prediction is polled. Outputs are deleted after an hour, so they are downloaded at once.
 */

const info: ProviderInfo = {
  id: 'replicate',
  displayName: 'Replicate',
  keyRequired: true,
  keyHelpUrl: 'https://replicate.com/account/api-tokens',
  defaultBaseUrl: 'https://api.replicate.com/v1',
  officialApi: true,
};

const FLUX_RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'] as const;

const MODELS: readonly ModelInfo[] = [
  {
    id: 'black-forest-labs/flux-schnell',
    displayName: 'FLUX.1 [schnell]',
    capabilities: { aspectRatios: FLUX_RATIOS, maxImagesPerCall: 4, seed: true, negativePrompt: false, img2img: false },
    lifecycle: { status: 'current' },
  },
  {
    id: 'black-forest-labs/flux-dev',
    displayName: 'FLUX.1 [dev]',
    capabilities: { aspectRatios: FLUX_RATIOS, maxImagesPerCall: 4, seed: true, negativePrompt: false, img2img: true },
    lifecycle: { status: 'current' },
  },
  {
    id: 'black-forest-labs/flux-1.1-pro',
    displayName: 'FLUX1.1 [pro]',
    capabilities: { aspectRatios: [...FLUX_RATIOS, 'custom'], maxImagesPerCall: 1, seed: true, negativePrompt: false, img2img: false },
    lifecycle: { status: 'current' },
  },
  {
    // A community model: billed per GPU second, run by version id.
    id: 'stability-ai/sdxl',
    displayName: 'SDXL',
    capabilities: { maxImagesPerCall: 4, seed: true, negativePrompt: true, img2img: true },
    lifecycle: { status: 'current' },
  },
];

const COMMUNITY_MODELS = new Set(['stability-ai/sdxl']);

const ErrorBody = z.object({ detail: z.unknown().optional(), error: z.unknown().optional(), title: z.string().optional() });

const dialect: Dialect = {
  provider: 'replicate',
  displayName: info.displayName,
  describe(body) {
    const parsed = ErrorBody.safeParse(body);
    if (!parsed.success) return {};
    return { message: describeDetail(parsed.data.detail ?? parsed.data.error) ?? parsed.data.title };
  },
};

const Prediction = z.object({
  id: z.string(),
  status: z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted']),
  output: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  error: z.unknown().optional(),
  metrics: z.object({ predict_time: z.number().optional() }).nullish(),
  urls: z.object({ get: z.string(), cancel: z.string().optional() }).optional(),
});
type Prediction = z.infer<typeof Prediction>;

const MODERATION_WORDS = /(nsfw|safety|sensitive|flagged|content policy|moderat)/i;

function buildInput(req: GenerateRequest): Record<string, unknown> {
  const input: Record<string, unknown> = { ...req.providerOptions, prompt: req.prompt };
  if (req.seed !== undefined) input.seed = req.seed;
  if (req.model === 'stability-ai/sdxl') {
    Object.assign(input, snapDimensions(req, { step: 8, min: 128, max: 1536 }), { num_outputs: req.n });
    if (req.negativePrompt) input.negative_prompt = req.negativePrompt;
  } else if (req.model === 'black-forest-labs/flux-1.1-pro' && req.width !== undefined && req.height !== undefined) {
    Object.assign(input, { aspect_ratio: 'custom' }, snapDimensions(req, { step: 32, min: 256, max: 1440 }));
  } else {
    input.aspect_ratio = nearestAspectRatio(req, FLUX_RATIOS);
    if (req.model !== 'black-forest-labs/flux-1.1-pro') input.num_outputs = req.n;
  }
  if (req.model !== 'stability-ai/sdxl') input.output_format = 'png';
  if (req.initImage) {
    input.image = toDataUri(req.initImage.bytes, req.initImage.mime);
    input.prompt_strength = req.initImage.strength ?? 0.8;
  }
  return input;
}

const authHeaders = (ctx: ProviderContext): Record<string, string> => ({ authorization: `Bearer ${requireKey(info, ctx)}` });

const ModelDetails = z.object({ latest_version: z.object({ id: z.string() }) });

/** Community models run by version; the latest is looked up unless `providerOptions.version` pins one. */
async function createUrlAndBody(req: GenerateRequest, ctx: ProviderContext): Promise<{ url: string; body: Record<string, unknown> }> {
  const { version: pinned, ...options } = req.providerOptions ?? {};
  const input = buildInput({ ...req, providerOptions: options });
  if (!COMMUNITY_MODELS.has(req.model)) return { url: `${ctx.baseUrl}/models/${req.model}/predictions`, body: { input } };
  let version = typeof pinned === 'string' ? pinned : undefined;
  if (version === undefined) {
    const { data } = await requestJson(dialect, ctx, `${ctx.baseUrl}/models/${req.model}`, { method: 'GET', headers: authHeaders(ctx) }, ModelDetails, 'model', {
      idempotent: true,
    });
    version = data.latest_version.id;
  }
  return { url: `${ctx.baseUrl}/predictions`, body: { version, input } };
}

function failure(prediction: Prediction): ProviderError {
  const said = typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error ?? 'no reason given');
  if (prediction.status === 'canceled' || prediction.status === 'aborted') {
    return new ProviderError('replicate', 'cancelled', `Replicate prediction ${prediction.id} was ${prediction.status}.`);
  }
  if (MODERATION_WORDS.test(said)) {
    return new ProviderError('replicate', 'moderation', `Replicate's safety checker refused prediction ${prediction.id}: ${said}`, {
      hint: 'Rephrase the prompt; safety refusals are not retried.',
    });
  }
  return new ProviderError('replicate', 'provider_error', `Replicate prediction ${prediction.id} failed: ${said}`, {
    hint: 'The model reported the failure; check the prompt and inputs, then send it again.',
  });
}

async function settle(prediction: Prediction, model: string, ctx: ProviderContext): Promise<PollResult> {
  if (prediction.status === 'starting' || prediction.status === 'processing') {
    return { kind: 'pending', model, providerJobId: prediction.id, pollUrl: prediction.urls?.get, memo: {} };
  }
  if (prediction.status !== 'succeeded') return { kind: 'failed', error: failure(prediction) };
  const urls = typeof prediction.output === 'string' ? [prediction.output] : (prediction.output ?? []);
  if (urls.length === 0) return { kind: 'failed', error: failure({ ...prediction, error: 'the prediction succeeded with no output' }) };
  const images = await Promise.all(urls.map((url) => downloadImage(dialect, ctx, url)));
  const predictTime = prediction.metrics?.predict_time;
  const reported = COMMUNITY_MODELS.has(model) && predictTime !== undefined ? ({ kind: 'seconds', seconds: predictTime } as const) : undefined;
  return {
    kind: 'done',
    images,
    actualCost: actualCost('replicate', model, { images: images.length, reported }),
    usage: predictTime !== undefined ? { predict_time: predictTime } : undefined,
  };
}

async function submit(req: GenerateRequest, ctx: ProviderContext): Promise<SubmitResult> {
  prepareRequest(info, MODELS, req);
  const { url, body } = await createUrlAndBody(req, ctx);
  // Never re-sent after a 5xx or a dropped connection: the prediction may exist and be billed.
  const { data } = await requestJson(
    dialect,
    ctx,
    url,
    { method: 'POST', headers: { ...authHeaders(ctx), 'content-type': 'application/json', prefer: 'wait' }, body: JSON.stringify(body) },
    Prediction,
    'prediction',
    { idempotent: false, model: req.model },
  );
  const result = await settle(data, req.model, ctx);
  if (result.kind === 'failed') throw result.error;
  return result;
}

function jobUrl(job: PendingJob, ctx: ProviderContext): string {
  return job.pollUrl ? assertKeySafeUrl(dialect, ctx.baseUrl, job.pollUrl) : `${ctx.baseUrl}/predictions/${encodeURIComponent(job.providerJobId)}`;
}

async function poll(job: PendingJob, ctx: ProviderContext): Promise<PollResult> {
  const { data } = await requestJson(dialect, ctx, jobUrl(job, ctx), { method: 'GET', headers: authHeaders(ctx) }, Prediction, 'prediction', {
    idempotent: true,
  });
  return settle(data, job.model, ctx);
}

async function cancel(job: PendingJob, ctx: ProviderContext): Promise<void> {
  const url = `${jobUrl(job, ctx).replace(/\/$/, '')}/cancel`;
  await withRetry(() => send(dialect, ctx, url, { method: 'POST', headers: authHeaders(ctx) }, { idempotent: true }), {
    ...ctx.retry,
    signal: ctx.signal,
  });
}

export const replicateProvider: ImageProvider = {
  info,
  models: () => MODELS,
  estimate: (req) => estimateCost('replicate', req.model, req),
  submit,
  poll,
  cancel,
  verifyKey: (ctx) => verifyKeyWith(dialect, ctx, `${ctx.baseUrl}/models/black-forest-labs/flux-schnell`, () => authHeaders(ctx)),
};
